package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A workload committing without pause in its own namespace (a python loop over libnftables,
 * thousands of transactions a second) while netfence applies there and, at the same time, into
 * a quiet namespace. libnftables restarts a listing or a cache fetch that a commit interrupts,
 * without limit, and a listing runs alone in the process (libnftables' interface cache), so
 * without bounds the busy namespace's trip could hold the quiet one's up: here every apply into
 * the quiet namespace verifies within seconds (a call waits at most {@code LibNftables.BUSY_WAIT}
 * for its turn; LOCK_CONTENDED is made again, as the enforcer does), and every apply into the busy
 * one ends within its deadline, verified or refused as retryable (LOCK_CONTENDED, VERIFY_FAILED),
 * never hung, and some are refused. This committer is a plain one (one thread, a tiny ruleset):
 * it shows the bound, not that no workload can stall netfence (see README, what it does not
 * protect against).
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class BusyNamespaceKernelTest {
    private static final String COMMITTER = String.join("\n",
            "import ctypes, time",
            "lib = ctypes.CDLL('libnftables.so.1')",
            "lib.nft_ctx_new.restype = ctypes.c_void_p",
            "lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]",
            "lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]",
            "c = lib.nft_ctx_new(0); lib.nft_ctx_buffer_error(c)",
            "end = time.time() + 60",
            "while time.time() < end:",
            "    lib.nft_run_cmd_from_buffer(c, b'add table inet w\\ndelete table inet w\\n')");

    @Test
    void aWorkloadCommittingWithoutPauseHoldsUpNeitherItsOwnAppliesNorAnotherNamespaces() throws Exception {
        String prefix = "nft-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)) + "-w";
        String busy = prefix + "b";
        String quiet = prefix + "q";
        PlannedRules plan = NftRendererTest.plan(
                "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.1:443\"]}");
        Process committer = null;
        ExecutorService callers = Executors.newFixedThreadPool(2);
        Sh.ok("ip", "netns", "add", busy);
        Sh.ok("ip", "netns", "add", quiet);
        try (InProcessNft nft = InProcessNft.start(Path.of("/proc"), 2)) {
            committer = new ProcessBuilder("ip", "netns", "exec", busy, Python.EXE, "-c", COMMITTER)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            Thread.sleep(300);
            assertThat(committer.isAlive()).as("the committer runs").isTrue();
            AtomicBoolean stop = new AtomicBoolean();
            java.util.concurrent.CountDownLatch refused = new java.util.concurrent.CountDownLatch(1);
            Future<List<String>> intoBusy = callers.submit(() -> {
                List<String> ends = new ArrayList<>();
                while (!stop.get()) {
                    Instant deadline = Instant.now().plusSeconds(20);
                    try (PinnedNamespace ns = pinned(busy)) {
                        nft.apply(ns, plan, false, deadline, new AtomicBoolean());
                        ends.add("applied");
                    } catch (EnforcementException e) {
                        assertThat(e.code()).as(e.getMessage()).isIn(ErrorCode.LOCK_CONTENDED, ErrorCode.VERIFY_FAILED,
                                ErrorCode.TIMEOUT);
                        ends.add(e.code().name());
                        refused.countDown();
                    }
                    assertThat(Instant.now()).as("ended by its deadline").isBefore(deadline.plusSeconds(1));
                }
                return ends;
            });
            List<Duration> quietApplies = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                long t0 = System.nanoTime();
                applyRetryingContention(nft, quiet, plan);
                quietApplies.add(Duration.ofNanos(System.nanoTime() - t0));
            }
            // on a loaded machine the committer gets less of it: give the busy applies up to 20 s more to
            // meet a commit, so that the test shows the refusals it is about
            refused.await(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(committer.isAlive()).as("the committer ran throughout").isTrue();
            stop.set(true);
            List<String> busyEnds = intoBusy.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(quietApplies).as("every apply into the quiet namespace verified within seconds")
                    .allSatisfy(d -> assertThat(d).isLessThan(Duration.ofSeconds(15)));
            assertThat(busyEnds).as("the busy namespace's read-backs met the commits").containsAnyOf(
                    ErrorCode.VERIFY_FAILED.name(), ErrorCode.LOCK_CONTENDED.name());
        } finally {
            callers.shutdownNow();
            if (committer != null) {
                committer.destroyForcibly();
                committer.waitFor();
            }
            Sh.run("ip", "netns", "del", busy);
            Sh.run("ip", "netns", "del", quiet);
        }
    }

    /** One apply, made again on LOCK_CONTENDED (a call whose turn did not come in 2 s) as the enforcer does. */
    private static void applyRetryingContention(InProcessNft nft, String name, PlannedRules plan) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try (PinnedNamespace ns = pinned(name)) {
                nft.apply(ns, plan, false, Instant.now().plusSeconds(60), new AtomicBoolean());
                return;
            } catch (EnforcementException e) {
                if (e.code() != ErrorCode.LOCK_CONTENDED || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    private static PinnedNamespace pinned(String name) throws Exception {
        Path path = Path.of("/run/netns", name);
        return new PinnedNamespace(0, path, NamespaceId.of(path), () -> { });
    }
}
