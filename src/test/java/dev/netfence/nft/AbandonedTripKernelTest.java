package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.OwnNamespace;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.ThreadNamespaces;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A trip whose work inside the namespace does not end by the caller's deadline. libnftables
 * restarts a listing that any commit interrupts, without limit: beside a workload committing
 * without pause (two processes adding and deleting a table through libnftables, 12,000 commits a
 * second), one listing of netfence's table in 2,000 took 4.1 s (the median 0.3 ms), so how long
 * a workload can hold one is the workload's to decide, not the deadline's. A trip that blocks
 * inside the namespace until the test lets it go stands in for that, so the outcome does not
 * depend on the kernel's timing: with a pool of one thread the caller gets TIMEOUT at its
 * deadline, a trip into another namespace still runs (on the thread that took the abandoned one's
 * place), the blocked namespace takes no other trip until the abandoned one is over, and then
 * that thread comes home and ends (the trip throwing an Error at the end changes nothing in that),
 * every thread of this JVM in the JVM's own namespace.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class AbandonedTripKernelTest {
    /** How long the blocked trip blocks at most: on code that waits for it, the caller returns then. */
    private static final long BLOCK_SECONDS = 20;
    private final List<String> names = new ArrayList<>();

    @BeforeEach
    void makeNamespaces() throws Exception {
        String prefix = "nft-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)) + "-a";
        for (int i = 0; i < 3; i++) {
            Sh.ok("ip", "netns", "add", prefix + i);
            names.add(prefix + i);
        }
    }

    @AfterEach
    void removeNamespaces() {
        names.forEach(n -> Sh.run("ip", "netns", "del", n));
    }

    private static NamespaceId id(String name) throws IOException {
        return NamespaceId.of(Path.of("/run/netns", name));
    }

    /** A trip into {@code name} that answers the namespace it ran in. */
    private static NamespaceId visit(NamespaceThreads threads, String name) throws IOException {
        return threads.run(-1, Path.of("/run/netns", name), id(name), Instant.now().plusSeconds(30),
                n -> NamespaceId.of(Path.of("/proc/thread-self/ns/net")));
    }

    @Test
    void aTripStillRunningAtTheDeadlineIsAbandonedAndTheOtherNamespacesKeepTheirThreads() throws Exception {
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        String blocked = names.get(0);
        String other = names.get(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inside = new CountDownLatch(1);
        ExecutorService caller = Executors.newSingleThreadExecutor();
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, 1)) {
            Future<Object> stuck = caller.submit(() -> threads.run(-1, Path.of("/run/netns", blocked), id(blocked),
                    Instant.now().plusSeconds(2), n -> {
                        inside.countDown();
                        if (release.await(BLOCK_SECONDS, TimeUnit.SECONDS)) {
                            throw new OutOfMemoryError("thrown by the test: an Error must not keep the namespace marked");
                        }
                        return false;
                    }));
            try {
                assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
                assertThatThrownBy(stuck::get).cause().isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT);
                    assertThat(e.getMessage()).contains("left to finish on a thread of its own");
                });
                assertThat(release.getCount()).as("the caller returned while the trip still ran").isEqualTo(1);
                assertThat(threads.abandoned()).isEqualTo(1);
                assertThat(visit(threads, other)).as("the pool's one thread is the abandoned one: this ran on its replacement")
                        .isEqualTo(id(other));
                assertThatThrownBy(() -> visit(threads, blocked)).isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.LOCK_CONTENDED));
            } finally {
                release.countDown();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> threads.abandoned() == 0);
            assertThat(visit(threads, blocked)).isEqualTo(id(blocked));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ThreadNamespaces.now()).containsOnly(own));
            assertThat(threads.replaced()).isZero();
        } finally {
            caller.shutdownNow();
        }
    }

    @Test
    void aTripNotYetInsideAtTheDeadlineDoesNothingThereAndTheCallerWaitsOnlyForTheEntering() throws Exception {
        // entering is held (a libc whose setns into the target waits) past the caller's deadline
        NativeCalls real = NativeCalls.load();
        CountDownLatch entering = new CountDownLatch(1);
        CountDownLatch letIn = new CountDownLatch(1);
        Path self = Path.of("/proc/self/ns/net");
        NamespaceId own = NamespaceId.of(self);
        AtomicBoolean ran = new AtomicBoolean();
        ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"))) {
            NativeCalls.Libc held = (NativeCalls.Libc) Proxy.newProxyInstance(NativeCalls.Libc.class.getClassLoader(),
                    new Class<?>[] {NativeCalls.Libc.class}, (proxy, method, args) -> {
                        if (method.getName().equals("setns") && (int) args[0] != home.descriptor()) {
                            entering.countDown();
                            letIn.await(BLOCK_SECONDS, TimeUnit.SECONDS);
                        }
                        try {
                            return method.invoke(real.libc, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            try (NamespaceThreads threads = new NamespaceThreads(new NativeCalls(held, real.nftables), home, 1)) {
                later.schedule(letIn::countDown, 3, TimeUnit.SECONDS);
                assertThatThrownBy(() -> threads.run(-1, self, own, Instant.now().plusSeconds(1), n -> {
                    ran.set(true);
                    return null;
                })).isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT);
                    assertThat(e.getMessage()).contains("nothing was done");
                });
                assertThat(entering.getCount()).isZero();
                assertThat(letIn.getCount()).as("the caller waited for the entering").isZero();
                assertThat(ran).as("the work never ran").isFalse();
                assertThat(threads.abandoned()).isZero();
                String next = threads.run(-1, self, own, Instant.now().plusSeconds(30), n -> "next");
                assertThat(next).isEqualTo("next");
            }
        } finally {
            later.shutdownNow();
        }
    }

    @Test
    void pastTheCapOfReplacedThreadsThePoolRunsShortUntilTheAbandonedTripEndsAndThenHasItsThreadBack() throws Exception {
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        CountDownLatch release = new CountDownLatch(1);
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, own, 1, 1)) {
            try {
                for (int i = 0; i < 2; i++) { // the first is replaced, the second (past the cap of 1) is not
                    String name = names.get(i);
                    assertThatThrownBy(() -> threads.run(-1, Path.of("/run/netns", name), id(name),
                            Instant.now().plusMillis(500), n -> release.await(BLOCK_SECONDS, TimeUnit.SECONDS)))
                            .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.getMessage())
                                    .contains("left to finish on a thread of its own"));
                }
                assertThat(threads.abandoned()).isEqualTo(2);
                String third = names.get(2);
                assertThatThrownBy(() -> threads.run(-1, Path.of("/run/netns", third), id(third),
                        Instant.now().plusMillis(500), n -> "not run"))
                        .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.getMessage())
                                .contains("no namespace thread was free"));
            } finally {
                release.countDown();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> threads.abandoned() == 0);
            for (int i = 0; i < 3; i++) { // one thread again, the unreplaced one back from its trip
                assertThat(visit(threads, names.get(i))).isEqualTo(id(names.get(i)));
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ThreadNamespaces.now()).containsOnly(own));
        }
    }

    @Test
    void aTripThatThrowsAnErrorIsReportedAndItsThreadGoesOn() throws Exception {
        String name = names.get(0);
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, 1)) {
            assertThatThrownBy(() -> threads.run(-1, Path.of("/run/netns", name), id(name), Instant.now().plusSeconds(30),
                    n -> {
                        throw new StackOverflowError("thrown by the test");
                    })).isInstanceOfSatisfying(EnforcementException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
                        assertThat(e.getMessage()).contains("StackOverflowError");
                    });
            assertThat(visit(threads, name)).as("the pool's one thread took the next trip").isEqualTo(id(name));
            assertThat(threads.replaced()).isZero();
        }
    }
}
