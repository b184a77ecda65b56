package dev.netfence.enforce;

import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A recording {@link CommandRunner} that imitates iptables in one namespace: the filter table of
 * each family (the owned chains, and the OUTPUT / INPUT / FORWARD rules that hold the hooks) changes as
 * restore inputs say ({@code :chain}, {@code -F}, {@code -A}, {@code -I OUTPUT 1}, {@code -D}, one
 * transaction: a {@code -D} of a rule that is not there fails the whole input and changes
 * nothing, as the kernel does) and is shown back by the matching save command in iptables-save's
 * layout. Tests may set the built-in chains by hand (another program's rule, a hook from before)
 * or have "another program" push the hook down after restores, and a test-supplied hook may
 * answer a command first (to fail it); everything run is recorded, with its stdin.
 */
final class FakeFirewall implements CommandRunner {
    /** The digest comment of the quarantine's IPv4 restore text: what a written quarantine's input holds. */
    static final String QUARANTINE_MARK = dev.netfence.iptables.RestoreRenderer.comment(
            new dev.netfence.rules.RulePlanner().quarantine().forFamily(dev.netfence.policy.Family.IPV4));

    /** One recorded command. */
    record Call(List<String> argv, String stdin) {}

    /** The filter table of one family. */
    private static final class Table {
        /** The chains in iptables-save's order: built-in ones first, then netfence's, by name. */
        static final List<String> NAMES = List.of("INPUT", "FORWARD", "OUTPUT", "NETFENCE-FWD", "NETFENCE-IN", "NETFENCE-OUT");
        boolean chains;
        final Map<String, List<String>> rules = new HashMap<>();

        Table() {
            NAMES.forEach(n -> rules.put(n, new ArrayList<>()));
        }

        Table copy() {
            Table t = new Table();
            t.chains = chains;
            rules.forEach((n, l) -> t.rules.put(n, new ArrayList<>(l)));
            return t;
        }

        List<String> chain(String name) {
            List<String> chain = rules.get(name);
            if (chain == null) {
                throw new IllegalArgumentException("no chain " + name);
            }
            return chain;
        }
    }

    final List<Call> calls = new ArrayList<>();
    private final Map<String, Table> tables = new HashMap<>(Map.of("v4", new Table(), "v6", new Table()));
    private Function<Call, CommandResult> hook = call -> null;
    private Runnable onEveryCall = () -> { };
    private Predicate<Call> pushDown = call -> false;

    /**
     * Answers commands for which {@code hook} returns non-null with that result (exit code -1: the
     * program cannot be started; -2: it wrote more output than the runner keeps).
     */
    FakeFirewall failing(Function<Call, CommandResult> hook) {
        this.hook = hook;
        return this;
    }

    FakeFirewall onEveryCall(Runnable action) {
        this.onEveryCall = action;
        return this;
    }

    /**
     * Imitates another program that reacts to each successful restore {@code which} matches by
     * inserting {@code -A OUTPUT -j ACCEPT} on top of OUTPUT, above netfence's hook.
     */
    FakeFirewall pushingHooksDownAfter(Predicate<Call> which) {
        this.pushDown = which;
        return this;
    }

    /** Sets the OUTPUT, INPUT and FORWARD rules of both families (lines as iptables-save prints them). */
    synchronized FakeFirewall builtins(List<String> output, List<String> input, List<String> forward) {
        for (Table t : tables.values()) {
            t.rules.put("OUTPUT", new ArrayList<>(output));
            t.rules.put("INPUT", new ArrayList<>(input));
            t.rules.put("FORWARD", new ArrayList<>(forward));
        }
        return this;
    }

    /** The OUTPUT rules of {@code family} ("v4" or "v6"). */
    synchronized List<String> output(String family) {
        return List.copyOf(tables.get(family).chain("OUTPUT"));
    }

    /** The INPUT rules of {@code family} ("v4" or "v6"). */
    synchronized List<String> input(String family) {
        return List.copyOf(tables.get(family).chain("INPUT"));
    }

    /** The FORWARD rules of {@code family} ("v4" or "v6"). */
    synchronized List<String> forward(String family) {
        return List.copyOf(tables.get(family).chain("FORWARD"));
    }

    List<Call> restores() {
        return calls.stream().filter(c -> c.argv().stream().anyMatch(a -> a.endsWith("-restore"))).toList();
    }

    static CommandResult result(Call call, int exit, String stderr) {
        return new CommandResult(call.argv(), exit, "", stderr);
    }

    @Override
    public synchronized CommandResult run(List<String> argv, byte[] stdin, Duration timeout) throws IOException {
        onEveryCall.run();
        Call call = new Call(argv, new String(stdin, StandardCharsets.UTF_8));
        calls.add(call);
        CommandResult forced = hook.apply(call);
        if (forced != null) {
            if (forced.exitCode() == -1) {
                throw new IOException("Cannot run program \"" + argv.get(argv.size() - 3) + "\": error=2");
            }
            if (forced.exitCode() == -2) {
                throw new dev.netfence.netns.CommandOutputTooLargeException(argv, "stdout", 16);
            }
            return forced;
        }
        if (argv.equals(List.of("iptables", "--version"))) {
            return new CommandResult(argv, 0, "iptables v1.8.9 (nf_tables)\n", "");
        }
        String binary = argv.stream().filter(a -> a.contains("tables-")).findFirst().orElse("");
        String family = binary.startsWith("ip6") ? "v6" : "v4";
        if (binary.endsWith("-restore")) {
            CommandResult result = restore(argv, family, call.stdin());
            if (result.ok() && pushDown.test(call)) {
                tables.get(family).chain("OUTPUT").add(0, "-A OUTPUT -j ACCEPT");
            }
            return result;
        }
        if (binary.contains("-legacy-")) {
            return new CommandResult(argv, 0, "", ""); // the fake's tables are iptables-nft's; it has no legacy table
        }
        if (binary.endsWith("-save")) {
            return new CommandResult(argv, 0, save(tables.get(family)), "");
        }
        return new CommandResult(argv, 0, "", "");
    }

    private CommandResult restore(List<String> argv, String family, String input) {
        Table t = tables.get(family).copy();
        int number = 0;
        for (String line : input.lines().toList()) {
            number++;
            String[] w = line.split(" ");
            if (line.startsWith(":NETFENCE-")) {
                t.chains = true;
            } else if (line.startsWith("-F ")) {
                t.chain(w[1]).clear();
            } else if (line.startsWith("-A ")) {
                t.chain(w[1]).add(line);
            } else if (line.startsWith("-I ")) {
                t.chain(w[1]).add(Integer.parseInt(w[2]) - 1, "-A " + w[1] + " " + line.split(" ", 4)[3]);
            } else if (line.startsWith("-D ") && !t.chain(w[1]).remove("-A " + line.substring(3))) {
                return new CommandResult(argv, 1, "", "iptables-restore: line " + number + " failed\n");
            }
        }
        tables.put(family, t);
        return new CommandResult(argv, 0, "", "");
    }

    private static String save(Table t) {
        StringBuilder sb = new StringBuilder("# Generated by fake\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                + ":OUTPUT ACCEPT [0:0]\n");
        if (t.chains) {
            sb.append(":NETFENCE-FWD - [0:0]\n:NETFENCE-IN - [0:0]\n:NETFENCE-OUT - [0:0]\n");
        }
        for (String chain : Table.NAMES) {
            t.chain(chain).forEach(l -> sb.append(l).append('\n'));
        }
        return sb.append("COMMIT\n# Completed\n").toString();
    }
}
