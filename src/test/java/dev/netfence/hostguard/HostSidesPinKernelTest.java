package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.NetnsDescriptors;
import dev.netfence.testkit.UnsharedSleeper;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The host guard's look-up of a container's host side and the pinner share one rule: nothing in
 * netfence opens a second descriptor of a pinned namespace, because the pinner tells its own
 * descriptor from others by the namespace it leads to and refuses (INTERNAL) when it sees two.
 * Found by the bench's guard section: with {@code --host-guard} on, eight workers applying into
 * the same namespaces had pins fail and containers quarantined, because asking the kernel for the
 * namespace's id opened the pinned path again. A {@code sleep} in a private network namespace
 * ({@code unshare --net}) stands in for the container.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostSidesPinKernelTest {
    private final ProcNamespacePinner pinner = new ProcNamespacePinner(
            new ContainerPidLookup(new ProcessCommandRunner(), Clock.systemUTC()), Path.of("/proc"), false);
    private UnsharedSleeper sleeper;
    private Process container;

    @BeforeEach
    void startContainer() throws Exception {
        sleeper = UnsharedSleeper.start();
        container = sleeper.process();
    }

    @AfterEach
    void stopContainer() throws Exception {
        if (sleeper != null) {
            sleeper.close();
        }
    }

    @Test
    void findingTheHostSideOfAPinnedNamespaceNeverMakesAConcurrentPinOfItFail() throws Exception {
        int before = NetnsDescriptors.open();
        NetlinkHostSides sides = new NetlinkHostSides(new Rtnetlink());
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (PinnedNamespace pinned = pinner.pin((int) container.pid(), null, null, deadline())) {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                done.add(pool.submit(() -> {
                    int lookups = 0;
                    while (!stop.get()) {
                        assertThat(sides.of(pinned.path()).interfaces()).isEmpty();
                        lookups++;
                    }
                    return lookups;
                }));
            }
            Future<Integer> pins = pool.submit(() -> {
                try {
                    for (int i = 0; i < 1000; i++) {
                        try (PinnedNamespace again = pinner.pin((int) container.pid(), null, null, deadline())) {
                            assertThat(again.id()).isEqualTo(pinned.id());
                        }
                    }
                    return 1000;
                } finally {
                    stop.set(true);
                }
            });

            assertThat(pins.get(120, TimeUnit.SECONDS)).isEqualTo(1000);
            for (Future<Integer> f : done) {
                assertThat(f.get(30, TimeUnit.SECONDS)).as("host-side look-ups made meanwhile").isPositive();
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    private static Instant deadline() {
        return Instant.now().plusSeconds(30);
    }
}
