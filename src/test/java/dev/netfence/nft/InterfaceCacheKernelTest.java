package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Pointer;
import dev.netfence.netns.LibNftables;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * libnftables keeps one interface cache per process, filled when a listing prints an interface
 * index ({@code meta iif}, {@code oif}: names are looked up) and emptied at the end of every
 * command and every context's free, with no lock. Used from several threads at once, a listing
 * filling it while another thread empties it corrupts the heap: reproduced with libnftables 1.0.6
 * from python ("malloc_consolidate(): invalid chunk size", the process aborted within seconds),
 * and by this test on the binding without its lock (the forked JVM dies). A workload holding
 * CAP_NET_ADMIN decides what a listing of netfence's chains in its namespace prints (it may
 * replace netfence's rules with its own until the next apply), so the binding
 * ({@link LibNftables#load}) makes a listing wait for every other command and free and keeps
 * them out meanwhile. Here: threads moved into a scratch namespace whose table matches on
 * interface indexes list it and free contexts, five at once, and the process lives.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class InterfaceCacheKernelTest {
    private static final int ROUNDS = 6_000;

    @Test
    void listingsThatPrintInterfaceNamesFromSeveralThreadsAtOnceLeaveTheProcessAlive() throws Exception {
        String name = "nft-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)) + "-c";
        NativeCalls natives = NativeCalls.load();
        Sh.ok("ip", "netns", "add", name);
        try {
            for (int v = 0; v < 6; v++) {
                Sh.ok("ip", "-n", name, "link", "add", "nfa" + v, "type", "veth", "peer", "name", "nfb" + v);
            }
            StringBuilder rules = new StringBuilder("table inet netfence {\n chain input {\n type filter hook input"
                    + " priority 0;\n");
            for (int index = 1; index <= 13; index++) {
                rules.append(" meta iif ").append(index).append(" accept\n meta oif ").append(index).append(" accept\n");
            }
            rules.append(" }\n}\n");
            Sh.ok(rules.toString().getBytes(StandardCharsets.UTF_8), "nsenter", "--net=/run/netns/" + name, "nft", "-f", "-");
            AtomicInteger listed = new AtomicInteger();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 5; t++) {
                String command = t < 3 ? "list chain inet netfence input" : "list tables";
                Thread thread = new Thread(() -> {
                    try {
                        int fd = natives.libc.open("/run/netns/" + name, NativeCalls.O_RDONLY | NativeCalls.O_CLOEXEC);
                        natives.libc.setns(fd, NativeCalls.CLONE_NEWNET); // this thread ends there, never home
                        natives.libc.close(fd);
                        for (int i = 0; i < ROUNDS; i++) {
                            Pointer ctx = natives.nftables.nft_ctx_new(0);
                            natives.nftables.nft_ctx_buffer_output(ctx);
                            natives.nftables.nft_ctx_buffer_error(ctx);
                            int code = natives.nftables.nft_run_cmd_from_buffer(ctx, command);
                            String out = natives.nftables.nft_ctx_get_output_buffer(ctx);
                            natives.nftables.nft_ctx_free(ctx);
                            if (code == 0 && out != null && out.contains("iif \"lo\"")) {
                                listed.incrementAndGet();
                            }
                        }
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e);
                    }
                }, "interface-cache-" + t);
                threads.add(thread);
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join();
            }
            assertThat(failed.get()).isNull();
            assertThat(listed).as("every listing named the interfaces").hasValue(3 * ROUNDS);
        } finally {
            Sh.run("ip", "netns", "del", name);
        }
    }
}
