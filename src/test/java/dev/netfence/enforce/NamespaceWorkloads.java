package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.ProcCapabilities;
import dev.netfence.testkit.Python;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The processes {@link QuietResyncKernelTest} runs in its namespace {@code name}: sleepers with
 * every capability or with some dropped by setpriv, and a python workload that gains a capability
 * back by unsharing a user namespace; each returned once it runs what it was started for, and
 * added to {@code started}, which the test ends after each case.
 */
final class NamespaceWorkloads {
    private final String name;
    private final Path nsPath;
    private final List<Process> started;

    NamespaceWorkloads(String name, Path nsPath, List<Process> started) {
        this.name = name;
        this.nsPath = nsPath;
        this.started = started;
    }

    int sleeper() throws Exception {
        return sleeper(List.of());
    }

    /**
     * As {@link #sleeper()}, without CAP_NET_ADMIN and CAP_NET_RAW in any set, as a container runs by
     * default: a root process holding NET_ADMIN in the host's user namespace is never host-guarded.
     */
    int containedSleeper() throws Exception {
        return sleeper(List.of("setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-net_admin,-net_raw"));
    }

    int sleeper(List<String> prefix) throws Exception {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", name));
        argv.addAll(prefix);
        argv.addAll(List.of("sleep", "infinity"));
        Process p = new ProcessBuilder(argv)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p);
        awaitNamespace(p);
        awaitExec(p, "sleep");
        return (int) p.pid();
    }

    /**
     * Until {@code p} runs {@code program}: {@code ip netns exec} enters the namespace before it execs
     * what follows, so a setpriv prefix has not dropped any capability yet when the namespace is
     * reached; read then, the process holds every one (a flaky first apply that did not claim the
     * host guard, CI of 9f692b7).
     */
    static void awaitExec(Process p, String program) throws Exception {
        Path comm = Path.of("/proc/" + p.pid() + "/comm");
        for (int i = 0; i < 500; i++) {
            try {
                if (program.equals(java.nio.file.Files.readString(comm).strip())) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " never ran " + program);
    }

    /**
     * A python workload in the namespace that dropped CAP_NET_ADMIN from its bounding and
     * effective sets, and also from its permitted and inheritable ones unless {@code keepPermitted};
     * on SIGUSR2 it unshares a user namespace (every set full again, relative to that namespace) and
     * empties its effective set.
     */
    Process capableWorkload(boolean keepPermitted) throws Exception {
        String script = String.join("\n",
                "import ctypes, signal",
                "libc = ctypes.CDLL(None, use_errno=True)",
                "assert libc.prctl(24, 12, 0, 0, 0) == 0",
                "hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)",
                "data = (ctypes.c_uint32 * 6)()", // effective, permitted, inheritable (low words), then high words
                "assert libc.capget(hdr, data) == 0",
                "data[0] &= ~(1 << 12)",
                keepPermitted ? "" : "data[1] &= ~(1 << 12); data[2] &= ~(1 << 12)",
                "assert libc.capset(hdr, data) == 0",
                "def userns(sig, frame):",
                "    assert libc.unshare(0x10000000) == 0", // CLONE_NEWUSER: every set full again
                "    libc.capget(hdr, data)",
                "    for i in range(6):",
                "        data[i] = 0",
                "    libc.capset(hdr, data)", // the effective set emptied again; the bounding set stays full
                "signal.signal(signal.SIGUSR2, userns)",
                "print('ready', flush=True)",
                "while True:",
                "    signal.pause()");
        Process p = new ProcessBuilder("ip", "netns", "exec", name, Python.EXE, "-c", script).redirectErrorStream(true)
                .start();
        started.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        awaitNamespace(p);
        return p;
    }

    private void awaitNamespace(Process p) throws Exception {
        NamespaceId wanted = NamespaceId.of(nsPath);
        for (int i = 0; i < 500; i++) {
            try {
                if (NamespaceId.of(Path.of("/proc/" + p.pid() + "/ns/net")).equals(wanted)) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " never entered " + name);
    }

    static void awaitCapability(int pid, String set, int bit) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (ProcCapabilities.holds(pid, set, bit)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("pid " + pid + " did not raise capability " + bit);
    }
}
