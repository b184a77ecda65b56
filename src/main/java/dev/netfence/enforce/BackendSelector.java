package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.BackendDetector;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.nft.InProcessNft;
import dev.netfence.nft.ProcessNft;
import dev.netfence.rules.RulePlanner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the {@code --backend} choice into the {@link FirewallBackend} this process uses, once,
 * at the first apply, and remembers it (a host does not lose libnftables or change its iptables
 * under a running service; a failed choice is not remembered, so the next apply tries again).
 * {@code auto} and {@code nft}: libnftables loaded in-process and a probe transaction (the
 * quarantine table, applied, read back and verified in a new empty namespace that vanishes
 * afterwards) accepted, else the same probe through {@code unshare --net nft -f -}; {@code auto}
 * then falls back to iptables as the host's {@code iptables} uses it, {@code nft} fails with
 * FIREWALL_UNAVAILABLE. The iptables choices go straight to {@link BackendDetector}. Why each
 * candidate was passed over is logged once, at the choice.
 *
 * <p>Also gives the iptables path a way to remove netfence's nft table from a namespace that
 * switches backend ({@link #removeNftTable}).
 */
final class BackendSelector {
    private static final Logger LOG = LoggerFactory.getLogger(BackendSelector.class);
    /** Namespace threads of the in-process backend: as many as the pipeline's default workers. */
    static final int NFT_THREADS = 8;
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);

    private final BackendChoice choice;
    private final BackendDetector detector;
    private final CommandRunner runner;
    private final Path procRoot;
    private final Clock clock;
    private volatile FirewallBackend chosen;
    private volatile InProcessNft cleanupNft;
    private volatile boolean cleanupLooked;

    BackendSelector(BackendChoice choice, CommandRunner runner, Path procRoot, Clock clock) {
        this.choice = Objects.requireNonNull(choice, "choice");
        this.runner = Objects.requireNonNull(runner, "runner");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.detector = new BackendDetector(choice, runner);
    }

    /** Trips of the in-process backend abandoned past their deadline and still running; 0 before a choice or without it. */
    double abandonedTrips() {
        FirewallBackend known = chosen;
        InProcessNft nft = known == null ? null : known.inProcessNft();
        InProcessNft cleanup = cleanupNft;
        return (nft == null ? 0 : nft.abandonedTrips()) + (cleanup == null || cleanup == nft ? 0 : cleanup.abandonedTrips());
    }

    /** The backend chosen so far, or null before the first {@link #backend()} (never chooses). */
    FirewallBackend chosen() {
        return chosen;
    }

    /** The backend to write with; FIREWALL_UNAVAILABLE when the choice cannot be met. */
    FirewallBackend backend() {
        FirewallBackend known = chosen;
        if (known == null) {
            synchronized (this) {
                known = chosen;
                if (known == null) {
                    known = choose();
                    chosen = known;
                }
            }
        }
        return known;
    }

    private FirewallBackend choose() {
        List<String> passedOver = new ArrayList<>();
        if (choice.allowsNft()) {
            InProcessNft nft = startInProcess(passedOver);
            if (nft != null) {
                return announce(FirewallBackend.inProcess(nft), passedOver);
            }
            ProcessNft process = new ProcessNft(runner);
            try {
                process.probe(new RulePlanner().quarantine(), PROBE_TIMEOUT);
                return announce(FirewallBackend.process(process), passedOver);
            } catch (EnforcementException e) {
                passedOver.add("nft-process: " + e.getMessage());
            }
        }
        if (!choice.allowsIptables()) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "backend nft is not usable here: " + String.join("; ", passedOver));
        }
        return announce(FirewallBackend.iptables(detector.backend()), passedOver);
    }

    private InProcessNft startInProcess(List<String> passedOver) {
        if (!procRoot.equals(Path.of("/proc"))) {
            passedOver.add("nft (in-process): needs the real /proc, the proc root is " + procRoot);
            return null;
        }
        try {
            InProcessNft nft = InProcessNft.shared(NFT_THREADS);
            nft.probe(new RulePlanner().quarantine(), clock.instant().plus(PROBE_TIMEOUT));
            return nft;
        } catch (LinkageError | Exception e) {
            passedOver.add("nft (in-process): " + e);
            return null;
        }
    }

    private static FirewallBackend announce(FirewallBackend backend, List<String> passedOver) {
        if (passedOver.isEmpty()) {
            LOG.info("firewall backend: {}", backend.wire());
        } else {
            LOG.info("firewall backend: {} (passed over: {})", backend.wire(), String.join("; ", passedOver));
        }
        return backend;
    }

    /**
     * Removes netfence's nft table from {@code ns}, for the iptables path in a namespace it has
     * not written before (the namespace may come from the nft backend). Uses the chosen
     * in-process handle, one started for this purpose, or else the {@code nft} program; when
     * neither libnftables nor {@code nft} exists there is no netfence table to remove and nothing
     * is done. Failures of the removal itself are thrown.
     */
    void removeNftTable(PinnedNamespace ns, Deadline deadline, Duration commandTimeout) {
        InProcessNft nft = inProcessForCleanup();
        if (nft != null) {
            nft.deleteTable(ns, deadline.at());
            return;
        }
        try {
            new ProcessNft(runner).deleteTable(ns, deadline.cap(commandTimeout, "removing the nft table"));
        } catch (EnforcementException e) {
            if (e.code() != ErrorCode.FIREWALL_UNAVAILABLE) {
                throw e;
            }
            LOG.debug("no nft to remove a netfence nft table from {} with: {}", ns, e.getMessage());
        }
    }

    private InProcessNft inProcessForCleanup() {
        FirewallBackend b = chosen;
        if (b != null && b.inProcessNft() != null) {
            return b.inProcessNft();
        }
        if (!cleanupLooked) {
            synchronized (this) {
                if (!cleanupLooked) {
                    try {
                        cleanupNft = procRoot.equals(Path.of("/proc")) ? InProcessNft.shared(NFT_THREADS) : null;
                    } catch (LinkageError | Exception e) {
                        LOG.debug("libnftables not loadable for removing nft tables: {}", e.toString());
                    }
                    cleanupLooked = true;
                }
            }
        }
        return cleanupNft;
    }
}
