package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The resolver's pool against a scripted lookup: a name in a slow zone that many callers ask for
 * holds one thread, not one per caller, so other names still resolve; answers come in a stable
 * order; a flood of distinct slow names is refused, not queued without end.
 */
class SystemEndpointResolverTest {
    private final CountDownLatch slowZone = new CountDownLatch(1);
    private final Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    private final ExecutorService callers = Executors.newFixedThreadPool(16);
    private SystemEndpointResolver resolver;

    @AfterEach
    void stop() {
        slowZone.countDown();
        callers.shutdownNow();
        if (resolver != null) {
            resolver.close();
        }
    }

    private InetAddress[] lookup(String name) throws UnknownHostException {
        lookups.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
        if (name.endsWith(".slow.example")) {
            try {
                slowZone.await(); // glibc's lookup cannot be interrupted: it ends when the resolver gives up
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new UnknownHostException(name);
        }
        return new InetAddress[] {InetAddress.getByAddress(name, new byte[] {(byte) 198, 51, 100, 9}),
            InetAddress.getByAddress(name, new byte[] {(byte) 198, 51, 100, 7})};
    }

    @Test
    void aSlowNameAskedByManyCallersHoldsOneThreadAndOtherNamesStillResolve() throws Exception {
        resolver = new SystemEndpointResolver(2, this::lookup, new RecentAnswers(Clock.systemUTC(), RecentAnswers.WINDOW, RecentAnswers.CAP));
        List<Future<?>> waiting = new ArrayList<>();
        for (int i = 0; i < 12; i++) { // twelve containers of one task, or twelve resyncs, asking at once
            waiting.add(callers.submit(() -> resolver.resolve("api.slow.example", Duration.ofMillis(200))));
        }
        for (Future<?> f : waiting) {
            assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(EnforcementException.class)
                    .cause().hasMessageContaining("took longer than 200 ms");
        }
        assertThat(lookups.get("api.slow.example")).hasValue(1);
        assertThat(resolver.inFlight()).as("still hanging").isEqualTo(1);

        assertThat(resolver.resolve("pypi.internal", Duration.ofSeconds(5))).extracting(InetAddress::getHostAddress)
                .containsExactly("198.51.100.7", "198.51.100.9");

        slowZone.countDown();
        assertThatThrownBy(() -> resolver.resolve("api.slow.example", Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.RESOLUTION_FAILED));
        assertThat(lookups.get("api.slow.example").get()).as("asked again once the first lookup ended").isBetween(1, 2);
    }

    @Test
    void moreDistinctSlowNamesThanThePoolHoldsAreRefusedAtOnce() {
        resolver = new SystemEndpointResolver(1, this::lookup, new RecentAnswers(Clock.systemUTC(), RecentAnswers.WINDOW, RecentAnswers.CAP));
        for (String name : List.of("a.slow.example", "b.slow.example")) { // one running, one queued
            assertThatThrownBy(() -> resolver.resolve(name, Duration.ofMillis(50)))
                    .hasMessageContaining("took longer than 50 ms");
        }
        assertThatThrownBy(() -> resolver.resolve("c.slow.example", Duration.ofSeconds(5)))
                .hasMessage("too many hostname lookups in flight, could not resolve c.slow.example");
    }

    @Test
    void aNameWhoseAnswersRotateResolvesToTheAddressesOfTheRecentAnswersTogether() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        resolver = new SystemEndpointResolver(1, name -> {
            int n = asked.getAndIncrement() % 2; // two of four addresses per answer, in turn
            return new InetAddress[] {InetAddress.getByAddress(name, new byte[] {(byte) 198, 51, 100, (byte) (1 + 2 * n)}),
                InetAddress.getByAddress(name, new byte[] {(byte) 198, 51, 100, (byte) (2 + 2 * n)})};
        }, new RecentAnswers(Clock.systemUTC(), RecentAnswers.WINDOW, RecentAnswers.CAP));
        assertThat(resolver.resolve("cdn.example", Duration.ofSeconds(5))).extracting(InetAddress::getHostAddress)
                .containsExactly("198.51.100.1", "198.51.100.2");
        // each resolve its own lookup: one that finds the last one still in flight shares its answer
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> resolver.inFlight() == 0);
        List<String> second = resolver.resolve("cdn.example", Duration.ofSeconds(5)).stream()
                .map(InetAddress::getHostAddress).toList();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> resolver.inFlight() == 0);
        List<String> third = resolver.resolve("cdn.example", Duration.ofSeconds(5)).stream()
                .map(InetAddress::getHostAddress).toList();
        assertThat(second).containsExactly("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4");
        assertThat(third).as("the rules do not change at the next resync").isEqualTo(second);
    }
}
