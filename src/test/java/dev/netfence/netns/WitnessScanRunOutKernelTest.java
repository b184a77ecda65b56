package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.SteppingClock;
import dev.netfence.testkit.TestCgroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * After NAMESPACE_MISMATCH with the runtime's path, the scan for a process of the container still in
 * that namespace can run out of its 500 ms (a node of very many processes; a workload that fills
 * /proc with zombies of its own: ScanRunOutDecoyPodmanTest). Not knowing is no reason to leave the
 * runtime's namespace open: {@link ProcNamespacePinner#memberIn} falls back to the path itself, as
 * where the scan completes and finds none (before, it answered empty and nothing was quarantined).
 * Here a clock that steps a second on every read makes the scan run out at its first entry, as on
 * such a node; the container is a process in a libpod cgroup and the runtime's namespace a scratch
 * {@code ip netns}.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class WitnessScanRunOutKernelTest {
    @TempDir
    Path dir;

    @Test
    void aScanThatRunsOutStillPinsTheRuntimesNamespaceByItsPath() throws Exception {
        String id = java.util.HexFormat.of().formatHex(new java.security.SecureRandom().generateSeed(32));
        String name = "nf46r-" + id.substring(0, 8);
        Path netns = Path.of("/run/netns", name);
        Sh.ok("ip", "netns", "add", name);
        Process pid1 = new ProcessBuilder("sleep", "600").start();
        try (TestCgroup cgroup = TestCgroup.create("libpod-" + id)) {
            cgroup.add(pid1.pid()); // the event's pid, moved out of the runtime's namespace (here: never in it)
            Path proc = dir.resolve("proc");
            Files.createDirectory(proc);
            for (String link : new String[] {"self", "thread-self", "1", Long.toString(pid1.pid())}) {
                Files.createSymbolicLink(proc.resolve(link), Path.of("/proc", link));
            }
            SteppingClock scanClock = new SteppingClock();
            scanClock.stepOnEveryRead(Duration.ofSeconds(1));
            ProcNamespacePinner pinner = new ProcNamespacePinner(
                    new ContainerPidLookup(new ProcessCommandRunner(), Clock.systemUTC()), proc, true, scanClock);
            boolean ranOut = false;
            try {
                ContainerProcesses.in(proc, id, NamespaceId.of(netns), scanClock);
            } catch (java.util.concurrent.TimeoutException e) {
                ranOut = true;
            }
            assertThat(ranOut).as("the scan runs out").isTrue();

            Optional<PinnedNamespace> pinned = pinner.memberIn(id, "podman", netns, (int) pid1.pid(),
                    Clock.systemUTC().instant().plusSeconds(10));

            assertThat(pinned).as("the runtime's namespace, by its path").isPresent();
            try (PinnedNamespace pin = pinned.get()) {
                assertThat(pin.id()).isEqualTo(NamespaceId.of(netns));
                assertThat(pin.pid()).isEqualTo((int) pid1.pid());
            }
            pid1.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } finally {
            pid1.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            Sh.run("ip", "netns", "del", name);
        }
    }
}
