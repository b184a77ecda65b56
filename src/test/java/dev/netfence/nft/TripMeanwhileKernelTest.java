package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.OwnNamespace;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The caller's own work that {@link NamespaceThreads#run(int, Path, NamespaceId, Instant,
 * NamespaceThreads.Trip, Runnable)} runs while a trip is inside its namespace (the enforcer reads
 * the container's capabilities there): it runs on the calling thread, at the same time as the trip
 * (each of the two below waits for the other, so run one after the other they would not finish),
 * and what it throws reaches the caller only once the trip is over, behind the trip's own failure.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class TripMeanwhileKernelTest {
    private String name;

    @BeforeEach
    void makeNamespace() {
        name = "nft-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)) + "-m";
        Sh.ok("ip", "netns", "add", name);
    }

    @AfterEach
    void removeNamespace() {
        Sh.run("ip", "netns", "del", name);
    }

    private NamespaceId id() throws IOException {
        return NamespaceId.of(Path.of("/run/netns", name));
    }

    @Test
    void theCallersWorkRunsOnTheCallingThreadWhileTheTripIsInsideTheNamespace() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch callerDone = new CountDownLatch(1);
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        AtomicBoolean sawTripInside = new AtomicBoolean();
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, 1)) {
            NamespaceId ranIn = threads.run(-1, Path.of("/run/netns", name), id(), Instant.now().plusSeconds(30), n -> {
                inside.countDown();
                if (!callerDone.await(10, TimeUnit.SECONDS)) {
                    return null; // the caller's work did not run meanwhile
                }
                return NamespaceId.of(Path.of("/proc/thread-self/ns/net"));
            }, () -> {
                ranOn.set(Thread.currentThread());
                try {
                    sawTripInside.set(inside.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                callerDone.countDown();
            });

            assertThat(sawTripInside).as("the caller's work saw the trip inside").isTrue();
            assertThat(ranIn).as("the trip saw the caller's work done while it was inside").isEqualTo(id());
            assertThat(ranOn.get()).isSameAs(Thread.currentThread());
        }
    }

    @Test
    void whatTheCallersWorkThrowsIsThrownOnlyOnceTheTripIsOver() throws Exception {
        AtomicBoolean tripOver = new AtomicBoolean();
        AtomicBoolean overWhenThrown = new AtomicBoolean();
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, 1)) {
            assertThatThrownBy(() -> {
                try {
                    threads.run(-1, Path.of("/run/netns", name), id(), Instant.now().plusSeconds(30), n -> {
                        Thread.sleep(300);
                        tripOver.set(true);
                        return true;
                    }, () -> {
                        throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "thrown by the test");
                    });
                } finally {
                    overWhenThrown.set(tripOver.get());
                }
            }).isInstanceOfSatisfying(EnforcementException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.CONTAINER_NOT_FOUND));
            assertThat(overWhenThrown).as("the trip was over when the caller heard of its own failure").isTrue();

            assertThatThrownBy(() -> threads.run(-1, Path.of("/run/netns", name), id(), Instant.now().plusSeconds(30),
                    n -> true, () -> {
                        throw new StackOverflowError("thrown by the test");
                    })).isInstanceOf(StackOverflowError.class);
        }
    }

    @Test
    void aTripThatFailsComesFirstWithTheCallersFailureSuppressedInIt() throws Exception {
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, 1)) {
            assertThatThrownBy(() -> threads.run(-1, Path.of("/run/netns", name), id(), Instant.now().plusSeconds(30),
                    n -> {
                        throw new EnforcementException(ErrorCode.VERIFY_FAILED, "the trip's, thrown by the test");
                    }, () -> {
                        throw new IllegalStateException("the caller's, thrown by the test");
                    })).isInstanceOfSatisfying(EnforcementException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
                        assertThat(e.getSuppressed()).singleElement().isInstanceOf(IllegalStateException.class);
                    });
            NamespaceId next = threads.run(-1, Path.of("/run/netns", name), id(), Instant.now().plusSeconds(30),
                    n -> NamespaceId.of(Path.of("/proc/thread-self/ns/net")), () -> { });
            assertThat(next).as("the pool's one thread goes on").isEqualTo(id());
        }
    }
}
