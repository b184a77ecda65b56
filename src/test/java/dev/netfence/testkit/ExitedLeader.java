package dev.netfence.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A workload process in a named network namespace whose thread-group leader exits on request
 * ({@code SYS_exit} from {@code main}, as {@code pthread_exit} does) while another of its threads
 * keeps the process alive: the leader is then a zombie, and {@code /proc/PID/ns/net} and
 * {@code /proc/PID/net/dev} answer ENOENT (and its {@code cgroup} names the root on cgroup v1
 * lines). No capability is needed for that. Python with ctypes, started through {@code ip netns
 * exec} or {@code nsenter -n} (which exec it: its pid is the process's). Closing kills it.
 */
public final class ExitedLeader implements AutoCloseable {
    private static final String SCRIPT = String.join("\n",
            "import ctypes, os, sys, threading, time",
            "SYS_EXIT = {'x86_64': 60, 'aarch64': 93}[os.uname().machine]  # this thread only, not the group",
            "threading.Thread(target=lambda: time.sleep(10 ** 6)).start()",
            "print('ready', flush=True)",
            "sys.stdin.readline()",
            "ctypes.CDLL(None).syscall(SYS_EXIT, 0)");

    private final Process process;

    private ExitedLeader(Process process) {
        this.process = process;
    }

    /** Starts it in the named namespace {@code ns}, its leader still running. */
    public static ExitedLeader startIn(String ns) throws IOException {
        return start(List.of("ip", "netns", "exec", ns));
    }

    /** Starts it in the network namespace of process {@code pid} (a container's), its leader still running. */
    public static ExitedLeader startInNamespaceOf(int pid) throws IOException {
        return start(List.of("nsenter", "-t", Integer.toString(pid), "-n"));
    }

    /** {@code prefix} enters the namespace and execs what follows (the pid stays the workload's). */
    private static ExitedLeader start(List<String> prefix) throws IOException {
        List<String> argv = new ArrayList<>(prefix);
        argv.addAll(List.of(Python.EXE, "-c", SCRIPT));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (!"ready".equals(line)) {
            p.destroyForcibly();
            throw new IOException("the exited-leader workload did not start (python3 with ctypes needed): " + line);
        }
        return new ExitedLeader(p);
    }

    public int pid() {
        return (int) process.pid();
    }

    /** Lets the leader exit, and waits until its {@code ns/net} is gone while the process lives on. */
    public void exitLeader() throws IOException, InterruptedException {
        OutputStream in = process.getOutputStream();
        in.write('\n');
        in.flush();
        Path ns = Path.of("/proc/" + pid() + "/ns/net");
        for (int i = 0; i < 100 && Files.exists(ns); i++) {
            Thread.sleep(20);
        }
        if (Files.exists(ns) || !process.isAlive()) {
            throw new IllegalStateException("pid " + pid() + ": leader still there or process gone");
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
