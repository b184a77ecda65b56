package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Pointer;
import dev.netfence.testkit.KernelTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A libnftables context whose free gets no turn at the interface cache (a listing holds the
 * exclusive turn past the busy wait) against the installed library: it is no longer left. It
 * waits, socket open, until {@link LibNftables#freeLate} (a closer's call) finds a turn free and
 * frees it (its socket closed then); past the limit the free refuses ({@link LibNftables.Busy})
 * as before. Contexts open their netlink socket in this process's namespace and change nothing
 * there.
 */
@ExtendWith(KernelTests.class)
class LateFreesKernelTest {
    private final LibNftables loaded = DirectLibNftables.load(); // binds the library's functions
    private final CacheTurns turns = new CacheTurns(Duration.ZERO, Duration.ofMillis(200));
    private final LateFrees late = new LateFrees(1);
    private final DirectLibNftables lib = new DirectLibNftables(turns, late);
    private final ExecutorService pool = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** The socket inodes ({@code socket:[N]}) this process holds now. */
    private static Set<String> sockets() throws Exception {
        Set<String> out = new HashSet<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(p).toString();
                    if (target.startsWith("socket:")) {
                        out.add(target);
                    }
                } catch (java.io.IOException gone) {
                    // closed meanwhile (the listing's own descriptor, for one)
                }
            }
        }
        return out;
    }

    /** A new context and the socket it opened. */
    private record Context(Pointer ctx, String socket) {}

    private Context context() throws Exception {
        Set<String> before = sockets();
        Pointer ctx = lib.nft_ctx_new(0);
        Set<String> opened = sockets();
        opened.removeAll(before);
        assertThat(opened).as("the context's own socket").hasSize(1);
        return new Context(ctx, opened.iterator().next());
    }

    /** The exclusive turn taken on another thread (a listing), held until the latch returned is counted down. */
    private CountDownLatch listingHeld() throws InterruptedException {
        return CacheTurnsTest.held(pool, () -> turns.exclusive("a listing"));
    }

    @Test
    void aFreeThatGetsNoTurnIsDoneLaterOnceATurnIsFree() throws Exception {
        Context first = context();
        CountDownLatch release = listingHeld();

        lib.nft_ctx_free(first.ctx()); // waits out the busy wait, then is kept for later
        assertThat(late.waiting()).isEqualTo(1);
        lib.freeLate(); // the listing still has the cache: nothing is freed, nothing waits
        assertThat(late.waiting()).isEqualTo(1);
        assertThat(sockets()).as("its socket stays open until it is freed").contains(first.socket());

        release.countDown();
        pool.submit(() -> null).get(); // the listing has given its turn back
        lib.freeLate();
        assertThat(late.waiting()).isZero();
        assertThat(sockets()).doesNotContain(first.socket());
    }

    @Test
    void pastTheLimitAFreeWithoutATurnIsRefusedAsBefore() throws Exception {
        Context first = context();
        Context second = context();
        CountDownLatch release = listingHeld();

        lib.nft_ctx_free(first.ctx());
        assertThatThrownBy(() -> lib.nft_ctx_free(second.ctx())).isInstanceOf(LibNftables.Busy.class);
        assertThat(late.waiting()).isEqualTo(1);

        release.countDown();
        pool.submit(() -> null).get();
        lib.nft_ctx_free(second.ctx()); // the caller's own retry here; netfence's leaves it, socket closed
        lib.freeLate();
        assertThat(late.waiting()).isZero();
        assertThat(sockets()).doesNotContain(first.socket(), second.socket());
    }
}
