package dev.netfence.hostguard;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** HostSides for the host guards' unit tests: the peers, unguarded interfaces and host links a test sets. */
final class FakeHostSides implements HostSides {
    final List<HostInterface> peers = new ArrayList<>();
    final List<String> unguarded = new ArrayList<>();
    final Map<String, Integer> links = new HashMap<>();

    @Override
    public Found of(Path nsFile) {
        return new Found(peers, unguarded);
    }

    @Override
    public Map<String, Integer> hostLinks() {
        return Map.copyOf(links);
    }

    /** The interfaces offered as peers are current, and those of {@link #links}. */
    @Override
    public boolean current(String name, int ifindex) {
        return peers.stream().anyMatch(p -> p.name().equals(name) && p.ifindex() == ifindex)
                || Integer.valueOf(ifindex).equals(links.get(name));
    }
}
