package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.SteppingClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The world of {@link ReconcilerTest} and {@link ReconcilerLifecycleTest}: a started reconciler
 * over a fake enforcer and policy store, a {@code /proc} of one pid whose network namespace a
 * test can replace or remove, what the reconciler publishes and releases, and containers started
 * as the event pipeline starts them.
 */
abstract class ReconcilerFixture {
    static final String ALLOW_A = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.2:80\"]}";
    /** Another policy than {@link #ALLOW_A}: a policy update. */
    static final String ALLOW_B = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.3:80\"]}";
    static final int PID = 4242;

    @TempDir
    Path proc;

    final FakeEnforcer enforcer = new FakeEnforcer();
    final MapPolicyStore policies = new MapPolicyStore();
    final List<Outcome> published = new CopyOnWriteArrayList<>();
    final List<String> released = new CopyOnWriteArrayList<>();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    /** What the reconciler stamps with: the system clock until a test steps it. */
    final SteppingClock wall = new SteppingClock();
    /** What the reconciler measures durations on: the system clock until a test steps it. */
    final SteppingClock steady = new SteppingClock();
    final AtomicInteger journalWrites = new AtomicInteger();
    final AtomicInteger journalRetries = new AtomicInteger();
    /** A container's journal write the broker has not acknowledged yet (absent: acknowledged). */
    final Map<String, CompletableFuture<Void>> journalUnsettled = new ConcurrentHashMap<>();
    Reconciler reconciler;
    Path nsFile;

    @BeforeEach
    void setUp() throws Exception {
        nsFile = Files.createDirectories(proc.resolve(PID + "/ns")).resolve("net");
        Files.writeString(nsFile, "");
        NamespaceId id = NamespaceId.of(nsFile);
        enforcer.device = id.device();
        enforcer.inode = id.inode();
        reconciler = reconcilerOver(new LiveSet(journal(), registry));
        // the first resync runs at once (the store is caught up); let it pass over the empty live set
        await().atMost(Duration.ofSeconds(10)).until(() -> reconciler.cycles() >= 1);
    }

    /** The live set's journal: counts its writes, remembers nothing. */
    LiveSetJournal journal() {
        return new LiveSetJournal() {
            @Override
            public void record(LiveContainer c) {
                journalWrites.incrementAndGet();
            }

            @Override
            public void remove(String containerId) {
                journalWrites.incrementAndGet();
            }

            @Override
            public int retryFailed() {
                journalRetries.incrementAndGet();
                return 0;
            }

            @Override
            public CompletableFuture<Void> settled(String containerId) {
                return journalUnsettled.getOrDefault(containerId, CompletableFuture.completedFuture(null));
            }
        };
    }

    /** A started reconciler over {@code live} (a test's restart of netfence builds another over what it journaled). */
    Reconciler reconcilerOver(LiveSet live) {
        HostGuards guards = new HostGuards() {
            @Override
            public void release(String containerId) {
                released.add(containerId);
            }

            @Override
            public void sweep() {
            }
        };
        return new Reconciler(live, enforcer, policies, new Outcomes(wall, "node-1/1", "test"),
                publisher(), guards, wall, steady, registry, "node-1", resyncInterval(), 2,
                Duration.ofSeconds(30), proc).start();
    }

    /** What a {@link #keepingJournal} holds: each container's last entry (a released one's removed). */
    final Map<String, LiveContainer> journaled = new ConcurrentHashMap<>();
    /** Every reconciler outcome handed to a {@link #settling} publisher, however it settles. */
    final List<Outcome> handed = new CopyOnWriteArrayList<>();

    /** A journal that keeps each container's last entry in {@link #journaled}, as the enforcements topic does. */
    LiveSetJournal keepingJournal() {
        return new LiveSetJournal() {
            @Override
            public void record(LiveContainer c) {
                journaled.put(c.containerId(), c);
            }

            @Override
            public void remove(String containerId) {
                journaled.remove(containerId);
            }
        };
    }

    /** A publisher that adds each outcome to {@link #handed} and settles its send as {@code settle} says. */
    OutcomePublisher settling(java.util.function.Function<Outcome, CompletableFuture<Void>> settle) {
        return new OutcomePublisher() {
            @Override
            public void publish(Outcome outcome) {
                publishTracked(outcome);
            }

            @Override
            public CompletableFuture<Void> publishTracked(Outcome outcome) {
                handed.add(outcome);
                return settle.apply(outcome);
            }
        };
    }

    /** Where the reconciler publishes: into {@link #published}, each outcome acknowledged at once. */
    OutcomePublisher publisher() {
        return published::add;
    }

    /** The reconciler's resync interval: an hour, so that only the first pass and the test's own run. */
    Duration resyncInterval() {
        return Duration.ofHours(1);
    }

    @AfterEach
    void tearDown() {
        reconciler.close();
    }

    void start(String id, String task) throws InterruptedException {
        ContainerEvent ev = event(id, task, ContainerEvent.CONTAINER_STARTED);
        var req = request(id, PID, task);
        EnforcementResult r = reconciler.started(ev, () -> enforcer.enforce(req));
        assertThat(r.status()).isEqualTo("applied");
        reconciler.published(EVENT_OUTCOMES.of(ev, r, false)); // as the pipeline does once its outcome is out
    }

    /** The enforcement request of container {@code id} as {@code pid} under task {@code task}'s stored policy. */
    dev.netfence.enforce.EnforcementRequest request(String id, int pid, String task) {
        return new dev.netfence.enforce.EnforcementRequest(id, null, pid,
                ((dev.netfence.policy.store.StoredPolicy.Valid) policies.lookup(task).orElseThrow()).policy(),
                Instant.now().plusSeconds(30));
    }

    /** The same container id started again as {@code pid}, in a namespace of its own, which the fake enforcer now reports. */
    int restartedIn(int pid) throws java.io.IOException {
        Path ns = Files.createDirectories(proc.resolve(pid + "/ns")).resolve("net");
        Files.writeString(ns, "");
        NamespaceId id = NamespaceId.of(ns);
        enforcer.device = id.device();
        enforcer.inode = id.inode();
        return pid;
    }

    static final Outcomes EVENT_OUTCOMES = new Outcomes(Clock.systemUTC(), "node-1/1", "test");

    static ContainerEvent event(String id, String task, String type) {
        return event(id, task, type, Instant.now());
    }

    static ContainerEvent event(String id, String task, String type, Instant occurredAt) {
        return new ContainerEvent(1, type, "ev-" + id + "-" + type, occurredAt, "node-1", task, id, null, PID);
    }

    /** A {@code container.stopped} without a pid (optional in the contract; {@code netfence publish --stopped} sends none). */
    static ContainerEvent pidlessStop(String id, String task, Instant occurredAt) {
        return new ContainerEvent(1, ContainerEvent.CONTAINER_STOPPED, "ev-" + id + "-stop-" + occurredAt, occurredAt,
                "node-1", task, id, null, null);
    }
}
