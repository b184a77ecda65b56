package dev.netfence.hostguard;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** HostTable for the host guards' unit tests: records the scripts run and answers listings a test sets. */
final class FakeHostTable implements HostTable {
    final List<String> scripts = new ArrayList<>();
    String listing = "";
    /** What listChain answers, by chain; the chains listed. */
    final Map<String, String> chains = new HashMap<>();
    final List<String> listed = new ArrayList<>();
    int rejectNext;
    /** The host ruleset generation (-1: unknown); a committed script advances it. */
    long generation = -1;

    @Override
    public void run(String script) throws Rejected {
        if (rejectNext > 0) {
            rejectNext--;
            throw new Rejected("Error: No such file or directory");
        }
        scripts.add(script);
        if (generation >= 0) {
            generation++;
        }
    }

    /** Listings that fail before one succeeds. */
    int listFailures;
    /** Runs as a listing is taken (another writer's change that lands just then). */
    Runnable onList = () -> { };

    @Override
    public String list() throws IOException {
        if (listFailures > 0) {
            listFailures--;
            throw new IOException("nft: cannot list");
        }
        onList.run();
        return listing;
    }

    @Override
    public long generation() {
        return generation;
    }

    @Override
    public String listChain(String chain) {
        listed.add(chain);
        return chains.getOrDefault(chain, "");
    }
}
