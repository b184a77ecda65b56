package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@code nft-process} backend, for hosts where libnftables cannot be loaded in-process: the
 * same table, the same steps ({@link NftApply}) and the same verification as {@link InProcessNft},
 * through {@code nsenter --net=PATH -- nft -f -} (the transaction on stdin) and {@code nsenter
 * --net=PATH -- nft -j list ruleset}: two processes per apply. The connection-tracking flush is
 * left to the caller's flusher. Failures: a binary that cannot run (exit 126/127, nsenter's own
 * errors, an {@link IOException}) is FIREWALL_UNAVAILABLE; a timeout is TIMEOUT; what nft wrote
 * to stderr is sorted by {@link NftErrors}.
 */
public final class ProcessNft {
    private final CommandRunner runner;
    private final NftApply steps = new NftApply(new NftRenderer());

    public ProcessNft(CommandRunner runner) {
        this.runner = Objects.requireNonNull(runner, "runner");
    }

    /**
     * Whether {@code nft} runs and the kernel accepts a transaction: {@code sample} applied, read
     * back and verified by {@code unshare --net -- nft} in a new namespace that vanishes with the
     * process. Throws the failure.
     */
    public void probe(PlannedRules sample, Duration timeout) {
        List<String> prefix = List.of("unshare", "--net", "--");
        // one process, so the table and its read-back share the fresh namespace
        String script = new NftRenderer().render(sample) + "list table inet netfence\n";
        CommandResult r = run(prefix, List.of("nft", "-f", "-"), script, timeout);
        if (!r.ok()) {
            throw failure("the probe transaction", r);
        }
        if (!r.stdout().contains("table inet netfence")) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "nft listed nothing after the probe");
        }
    }

    /** Replaces netfence's table in {@code ns} with {@code plan} and verifies it; sets {@code changed} once it changed. */
    public InProcessNft.Applied apply(PinnedNamespace ns, PlannedRules plan, Duration timeout, AtomicBoolean changed) {
        NftApply.Result result = steps.apply(commands(ns, timeout), plan, null);
        if (result.changed()) {
            changed.set(true);
        }
        if (result.error() != null) {
            throw result.error();
        }
        return new InProcessNft.Applied(result.removedIptablesChains(), 0);
    }

    /** What netfence's table in {@code ns} differs in from {@code plan}, or empty; writes nothing (the reconciler's read-back). */
    public java.util.Optional<String> drift(PinnedNamespace ns, PlannedRules plan, Duration timeout) {
        return steps.drift(commands(ns, timeout), plan, null).difference();
    }

    /** Removes netfence's table from {@code ns} (idempotent). */
    public void deleteTable(PinnedNamespace ns, Duration timeout) {
        EnforcementException e = steps.deleteTable(commands(ns, timeout));
        if (e != null) {
            throw e;
        }
    }

    private NftApply.Commands commands(PinnedNamespace ns, Duration timeout) {
        List<String> nsenter = List.of("nsenter", "--net=" + ns.path(), "--");
        return new NftApply.Commands() {
            @Override
            public NftContext.Run apply(String script) {
                return toRun(run(nsenter, List.of("nft", "-f", "-"), script, timeout));
            }

            @Override
            public NftContext.Run listJson() {
                return toRun(run(nsenter, List.of("nft", "-j", "list", "ruleset"), "", timeout));
            }
        };
    }

    private static NftContext.Run toRun(CommandResult r) {
        if (r.exitCode() == 126 || r.exitCode() == 127 || r.stderr().startsWith("nsenter:")
                || r.stderr().startsWith("unshare:")) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, describe(r));
        }
        return new NftContext.Run(r.exitCode(), r.stdout(), r.stderr());
    }

    private static EnforcementException failure(String what, CommandResult r) {
        toRun(r);
        return NftErrors.classify(what, r.stderr());
    }

    private CommandResult run(List<String> prefix, List<String> command, String stdin, Duration timeout) {
        List<String> argv = new ArrayList<>(prefix);
        argv.addAll(command);
        try {
            return runner.run(argv, stdin.getBytes(StandardCharsets.UTF_8), timeout);
        } catch (dev.netfence.netns.CommandOutputTooLargeException e) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "output too large to verify: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot run " + argv.get(0) + ": " + e.getMessage(), e);
        } catch (CommandTimeoutException e) {
            throw new EnforcementException(ErrorCode.TIMEOUT, e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted running " + argv, e);
        }
    }

    private static String describe(CommandResult r) {
        String err = r.stderr().strip();
        return String.join(" ", r.argv()) + " exited " + r.exitCode() + (err.isEmpty() ? "" : ": " + err);
    }
}
