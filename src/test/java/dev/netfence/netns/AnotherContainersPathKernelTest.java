package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.TestCgroup;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * After NAMESPACE_MISMATCH with a runtime's path, {@link ProcNamespacePinner#memberIn} pins the
 * path's namespace for the quarantine when no process of the container is there. A process of
 * another container in that namespace says it is not this container's (a producer that sent
 * another container's sandbox path): it is not pinned, so the other container is not cut off in
 * this one's name. A host process there (an operator's) does not count as another container's.
 * Containers here are processes in {@code libpod-<id>} cgroups, the runtime's
 * namespace a scratch {@code ip netns}.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class AnotherContainersPathKernelTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void aPathWhereAnotherContainersProcessIsIsNotPinnedForThisOnesQuarantine() throws Exception {
        String a = HEX.formatHex(new java.security.SecureRandom().generateSeed(32));
        String b = HEX.formatHex(new java.security.SecureRandom().generateSeed(32));
        String name = "nf58p-" + a.substring(0, 8);
        Path netns = Path.of("/run/netns", name);
        Sh.ok("ip", "netns", "add", name);
        Process pidA = null;
        Process pidB = null;
        Process operator = null;
        try (TestCgroup cgroupA = TestCgroup.create("libpod-" + a); TestCgroup cgroupB = TestCgroup.create("libpod-" + b)) {
            pidA = new ProcessBuilder("sleep", "600").start(); // container A's pid: not in the path's namespace
            cgroupA.add(pidA.pid());
            pidB = new ProcessBuilder("ip", "netns", "exec", name, "sleep", "600").start(); // container B's, in it
            cgroupB.add(pidB.pid());
            awaitIn(pidB.pid(), netns);
            ProcNamespacePinner pinner = new ProcNamespacePinner(
                    new ContainerPidLookup(new ProcessCommandRunner(), Clock.systemUTC()), Path.of("/proc"), true);

            Optional<PinnedNamespace> withB = pinner.memberIn(a, "podman", netns, (int) pidA.pid(),
                    Clock.systemUTC().instant().plusSeconds(10));

            assertThat(withB).as("B's namespace is not pinned for A").isEmpty();

            // the same path once no other container's process is there, only an operator's (a host process, as
            // `ip netns exec ... tcpdump` would be): the runtime's namespace A left, by its path
            pidB.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            operator = new ProcessBuilder("ip", "netns", "exec", name, "sleep", "600").start();
            awaitIn(operator.pid(), netns);
            Optional<PinnedNamespace> emptied = pinner.memberIn(a, "podman", netns, (int) pidA.pid(),
                    Clock.systemUTC().instant().plusSeconds(10));
            assertThat(emptied).as("a namespace no other container's process is in, by its path").isPresent();
            try (PinnedNamespace pin = emptied.get()) {
                assertThat(pin.id()).isEqualTo(NamespaceId.of(netns));
                assertThat(pin.pid()).isEqualTo((int) pidA.pid());
            }
        } finally {
            for (Process p : new Process[] {pidA, pidB, operator}) {
                if (p != null) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            Sh.run("ip", "netns", "del", name);
        }
    }

    private static void awaitIn(long pid, Path netns) throws Exception {
        NamespaceId wanted = NamespaceId.of(netns);
        for (int i = 0; i < 200; i++) {
            try {
                if (NamespaceId.of(Path.of("/proc/" + pid + "/ns/net")).equals(wanted)) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not started yet
            }
            Thread.sleep(25);
        }
        throw new IllegalStateException("process " + pid + " did not enter " + netns);
    }
}
