package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.hostguard.HostSides;
import dev.netfence.hostguard.HostTable;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The host guard written alongside the in-namespace rules: its result and failures come back as
 * if it had run inline, an in-namespace failure waits for the guard's write to end before it goes
 * on (to the quarantine), the guard runs on another thread than the apply's, and only one guard
 * at a time does (the others are written after their rules, as before).
 */
class ConcurrentGuardTest {
    private static final Path NS = Path.of("/proc/1/fd/7");
    private final PlannedRules plan = new RulePlanner().quarantine();

    @Test
    void theGuardsResultComesBackAndItWasWrittenOnAnotherThread() {
        BlockingTable table = new BlockingTable();
        table.release.countDown();
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, new OneVeth(), table);

        HostGuards.Result result = ConcurrentGuard.start(guards, "c1", NS, plan).await();

        assertThat(result.guards()).containsExactly("netns", "host");
        assertThat(table.writer.get()).isNotNull().isNotSameAs(Thread.currentThread());
    }

    @Test
    void aGuardFailureIsThrownAsTheGuardThrewIt() {
        HostGuards guards = new HostGuards(HostGuardMode.REQUIRED, new NoVeth(), new BlockingTable());

        ConcurrentGuard host = ConcurrentGuard.start(guards, "c1", NS, plan);

        assertThatThrownBy(host::await).isInstanceOfSatisfying(EnforcementException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE));
    }

    @Test
    void anInNamespaceFailureWaitsUntilTheGuardsWriteIsOverSoItCannotLandAfterTheQuarantine() throws Exception {
        BlockingTable table = new BlockingTable();
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, new OneVeth(), table);
        ConcurrentGuard host = ConcurrentGuard.start(guards, "c1", NS, plan);
        assertThat(table.entered.await(10, TimeUnit.SECONDS)).as("the guard's write started").isTrue();
        EnforcementException failure = new EnforcementException(ErrorCode.RULES_REJECTED, "in-namespace write refused");

        CompletableFuture<Void> waited = CompletableFuture.runAsync(() -> host.awaitQuietly(failure));
        Thread.sleep(200);
        assertThat(waited).as("still waiting while the guard writes").isNotDone();
        table.release.countDown();
        waited.get(10, TimeUnit.SECONDS);

        assertThat(table.done.getCount()).as("the write had ended").isZero();
        assertThat(failure.getSuppressed()).isEmpty();
    }

    @Test
    void whileOneGuardIsWrittenBesideAnApplyAnotherApplyWritesItsOwnAfterItsRulesOnItsOwnThread() throws Exception {
        BlockingTable first = new BlockingTable();
        ConcurrentGuard beside = ConcurrentGuard.start(new HostGuards(HostGuardMode.AUTO, new OneVeth(), first), "c1",
                NS, plan);
        assertThat(first.entered.await(10, TimeUnit.SECONDS)).isTrue();
        BlockingTable second = new BlockingTable();
        second.release.countDown();

        ConcurrentGuard after = ConcurrentGuard.start(new HostGuards(HostGuardMode.AUTO, new OneVeth(), second), "c2",
                NS, plan);
        assertThat(second.writer.get()).as("nothing written before await").isNull();
        after.awaitQuietly(new IllegalStateException("in-namespace write failed"));
        assertThat(second.writer.get()).as("a failed apply writes no guard of its own").isNull();
        assertThat(after.await().guards()).containsExactly("netns", "host");
        assertThat(second.writer.get()).isSameAs(Thread.currentThread());

        first.release.countDown();
        assertThat(beside.await().guards()).containsExactly("netns", "host");
        assertThat(first.writer.get()).isNotSameAs(Thread.currentThread());
    }

    @Test
    void withTheGuardOffNothingRunsElsewhere() {
        BlockingTable table = new BlockingTable();
        HostGuards.Result result = ConcurrentGuard.start(new HostGuards(HostGuardMode.OFF, new OneVeth(), table), "c1",
                NS, plan).await();
        assertThat(result.guards()).containsExactly("netns");
        assertThat(table.writer.get()).isNull();
    }

    /** One host veth for every namespace (shared with QuarantineHostSideTest). */
    static final class OneVeth implements HostSides {
        @Override
        public Found of(Path nsFile) {
            // a source binding read, as the kernel answers: a guard without one is not claimed
            return new Found(List.of(new HostInterface("veth1", 11, 2, new HostSides.Binding("0a:00:00:00:00:01",
                    List.of("10.88.0.5"), List.of()))), List.of());
        }

        @Override
        public Map<String, Integer> hostLinks() {
            return Map.of("veth1", 11);
        }
    }

    private static final class NoVeth implements HostSides {
        @Override
        public Found of(Path nsFile) {
            return new Found(List.of(), List.of());
        }

        @Override
        public Map<String, Integer> hostLinks() {
            return Map.of();
        }
    }

    /** A host table whose writes wait for {@link #release}. */
    private static final class BlockingTable implements HostTable {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<Thread> writer = new AtomicReference<>();

        @Override
        public void run(String script) {
            writer.set(Thread.currentThread());
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            done.countDown();
        }

        @Override
        public String list() {
            return "";
        }

        @Override
        public String listChain(String chain) {
            return "";
        }
    }
}
