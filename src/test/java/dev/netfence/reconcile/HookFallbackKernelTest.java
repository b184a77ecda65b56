package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.UnsharedSleeper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped hook's {@code --on-unavailable quarantine} fallback with nobody listening: it fences
 * the container's own namespace with real {@code nsenter} and {@code nft} (netfence's own table,
 * which every backend replaces or removes), with {@code iptables-restore} where nft refuses, and never
 * writes into the host's (a container started with host networking while netfence is down): that
 * case runs with a recording stand-in for {@code nsenter} first on {@code PATH}, so the test cannot
 * cut the machine off whatever the script does, and {@link HostRulesetGuard} checks the host's
 * ruleset around the class.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class HookFallbackKernelTest {
    private static final Path SCRIPT = Path.of("scripts", "netfence-hook");

    @TempDir
    Path dir;

    @Test
    void withNetfenceDownTheFallbackQuarantinesTheContainersOwnNamespaceAsNetfencesNftTable() throws Exception {
        try (UnsharedSleeper container = UnsharedSleeper.start()) {
            long pid = container.process().pid();

            Hook hook = runHook(pid, null);

            assertThat(hook.exit()).as(hook.output()).isZero();
            String ns = "--net=/proc/" + pid + "/ns/net";
            // the table every netfence backend replaces or removes when it applies
            assertThat(Sh.ok("nsenter", ns, "--", "nft", "list", "table", "inet", "netfence"))
                    .contains("meta nfproto ipv4 meta oiftype loopback fib daddr type != unicast accept", "reject with icmpv6 port-unreachable",
                            "meta nfproto ipv6 drop");
            assertThat(Sh.ok("nsenter", ns, "--", "iptables-save", "-t", "filter")).doesNotContain("NETFENCE");
        }
    }

    @Test
    void whereNftRefusesTheQuarantineTheFallbackWritesItWithIptablesInBothFamilies() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fake = bin.resolve("nft");
        Files.writeString(fake, "#!/bin/sh\necho 'Error: Could not process rule: Operation not supported' >&2\nexit 1\n",
                StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        try (UnsharedSleeper container = UnsharedSleeper.start()) {
            long pid = container.process().pid();

            Hook hook = runHook(pid, bin);

            assertThat(hook.exit()).as(hook.output()).isZero();
            assertThat(hook.output()).contains("nft refused the quarantine");
            String ns = "--net=/proc/" + pid + "/ns/net";
            assertThat(Sh.ok("nsenter", ns, "--", "iptables-save", "-t", "filter"))
                    .contains("-A OUTPUT -j NETFENCE-OUT", "-A NETFENCE-OUT -o lo")
                    .containsPattern("-A NETFENCE-OUT -m comment --comment \"netfence:[0-9a-f]{12}\" -j REJECT");
            assertThat(Sh.ok("nsenter", ns, "--", "ip6tables-save", "-t", "filter"))
                    .contains("-A INPUT -j NETFENCE-IN", "-A NETFENCE-IN -i lo");
        }
    }

    @Test
    void withTheEmptyEnvironmentARuntimeGivesAHookWithoutEnvItStillFindsNftInSbin() throws Exception {
        try (UnsharedSleeper container = UnsharedSleeper.start()) {
            long pid = container.process().pid();
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", SCRIPT.toString(), "--socket",
                    dir.resolve("absent.sock").toString(), "--on-unavailable", "quarantine").redirectErrorStream(true);
            pb.environment().clear();
            Process p = pb.start();
            p.getOutputStream().write(("{\"id\":\"3f9a0c2d8e1b\",\"pid\":" + pid + "}").getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

            assertThat(p.exitValue()).as(output).isZero();
            assertThat(Sh.ok("nsenter", "--net=/proc/" + pid + "/ns/net", "--", "nft", "list", "table", "inet", "netfence"))
                    .contains("meta nfproto ipv6 drop");
        }
    }

    @Test
    void withFallbackWithIptablesNftItWritesTheChainsThatBackendRewritesNotTheNftTable() throws Exception {
        try (UnsharedSleeper container = UnsharedSleeper.start()) {
            long pid = container.process().pid();

            Hook hook = runHook(pid, null, "--fallback-with", "iptables-nft");

            assertThat(hook.exit()).as(hook.output()).isZero();
            String ns = "--net=/proc/" + pid + "/ns/net";
            assertThat(Sh.ok("nsenter", ns, "--", "iptables-nft-save", "-t", "filter"))
                    .contains("-A OUTPUT -j NETFENCE-OUT", "-A NETFENCE-OUT -o lo");
            assertThat(Sh.ok("nsenter", ns, "--", "ip6tables-nft-save", "-t", "filter")).contains("-A INPUT -j NETFENCE-IN");
            assertThat(Sh.run("nsenter", ns, "--", "nft", "list", "table", "inet", "netfence").exitCode())
                    .as("no table inet netfence").isNotZero();
        }
    }

    @Test
    void aContainerInTheHostsNetworkNamespaceIsRefusedAndNothingIsWrittenThere() throws Exception {
        Path calls = dir.resolve("nsenter-calls");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fake = bin.resolve("nsenter");
        Files.writeString(fake, "#!/bin/sh\necho \"$@\" >> " + calls + "\ncat > /dev/null\nexit 0\n",
                StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        // the test's own JVM stands for a container started with host networking: pid 1's namespace
        long hostPid = ProcessHandle.current().pid();

        Hook hook = runHook(hostPid, bin);

        assertThat(hook.exit()).isEqualTo(1);
        assertThat(hook.output()).contains("is in the host's network namespace (host networking): not quarantined"
                + " there; refusing");
        assertThat(calls).as("no nsenter at all").doesNotExist();
    }

    private record Hook(int exit, String output) { }

    /** The script with {@code --on-unavailable quarantine} and an absent socket; {@code pathFirst} leads PATH. */
    private Hook runHook(long pid, Path pathFirst, String... options) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of(Python.EXE, SCRIPT.toString(), "--socket",
                dir.resolve("absent.sock").toString(), "--on-unavailable", "quarantine", "--timeout", "10"));
        argv.addAll(java.util.List.of(options));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        if (pathFirst != null) {
            pb.environment().put("PATH", pathFirst + ":" + pb.environment().get("PATH"));
        }
        Process p = pb.start();
        p.getOutputStream().write(("{\"ociVersion\":\"1.0.2\",\"id\":\"3f9a0c2d8e1b\",\"status\":\"creating\",\"pid\":"
                + pid + ",\"bundle\":\"/b\"}").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Hook(p.exitValue(), output);
    }
}
