package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.enforce.Enforcer;
import dev.netfence.netns.NamespaceId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two instances of one node: what the other one journaled while this one did not hold the
 * partitions is taken when this one takes them over ({@link TakeOver}), and nothing this one
 * changed meanwhile, or has not yet got into the journal, is overwritten.
 */
class TakeOverTest {
    private static final Instant T0 = Instant.parse("2026-12-05T05:00:00Z");
    private static final NamespaceId NS_A = new NamespaceId(4, 4026531001L);
    private static final NamespaceId NS_B = new NamespaceId(4, 4026531002L);

    private final List<String> journaled = new CopyOnWriteArrayList<>();
    private final Map<String, CompletableFuture<Void>> unsettled = new ConcurrentHashMap<>();
    private final LiveSet live = new LiveSet(new LiveSetJournal() {
        @Override
        public void record(LiveContainer c) {
            journaled.add("put " + c.containerId());
        }

        @Override
        public void remove(String containerId) {
            journaled.add("tombstone " + containerId);
        }

        @Override
        public CompletableFuture<Void> settled(String containerId) {
            return unsettled.getOrDefault(containerId, CompletableFuture.completedFuture(null));
        }
    }, new SimpleMeterRegistry());
    private final List<String> enforcerCalls = new CopyOnWriteArrayList<>();
    private final Enforcer enforcer = recordingOwners(enforcerCalls);
    private final List<Set<String>> checkedSoon = new CopyOnWriteArrayList<>();
    private final FakeJournal journal = new FakeJournal();
    /** The entries whose recorded process is still the container's, in its namespace (id/inode). */
    private final Set<String> there = ConcurrentHashMap.newKeySet();
    /** The containers whose entries were taken from the journal, as told. */
    private final List<String> adopted = new CopyOnWriteArrayList<>();
    private final TakeOver takeOver = new TakeOver(live, new ContainerLocks(), enforcer,
            c -> there.contains(c.containerId() + "/" + c.netns().inode()), adopted::add, journal,
            (epoch, ids) -> checkedSoon.add(ids), () -> 0L, java.time.Clock.systemUTC());

    @AfterEach
    void close() {
        takeOver.close();
    }

    /** An enforcer that records what a take-over tells it of namespace owners and members, and refuses anything else. */
    static Enforcer recordingOwners(List<String> calls) {
        return (Enforcer) Proxy.newProxyInstance(Enforcer.class.getClassLoader(), new Class<?>[] {Enforcer.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "left" -> calls.add("left " + args[0] + " " + ((NamespaceId) args[1]).inode());
                        case "released" -> calls.add("released " + ((NamespaceId) args[0]).inode());
                        case "restoreNamespaceOwner" -> calls.add("owner " + args[0] + " " + args[4]);
                        case "restoreQuarantined" -> calls.add("quarantined " + args[0]);
                        case "joined" -> calls.add("joined " + args[0]);
                        default -> throw new AssertionError("unexpected enforcer call " + method.getName());
                    }
                    return null;
                });
    }

    static LiveContainer entry(String id, NamespaceId ns, String digest) {
        return new LiveContainer(id, "task-" + id, "node-1", "podman", 4242, ns, null, digest, null, false, "nft",
                Map.of(), T0);
    }

    @Test
    void aContainerTheOtherInstanceStartedIsTakenFromTheJournalAndCheckedAtOnce() {
        live.put(entry("c1", NS_A, "sha256:a"));
        journaled.clear();
        journal.entries = List.of(entry("c1", NS_A, "sha256:a"), entry("c2", NS_B, "sha256:b"));

        takeOver.runOnce();

        assertThat(live.get("c2")).contains(entry("c2", NS_B, "sha256:b"));
        assertThat(live.ofTask("task-c2")).extracting(LiveContainer::containerId).containsExactly("c2");
        assertThat(enforcerCalls).containsExactly("owner c2 sha256:b");
        assertThat(checkedSoon).containsExactly(Set.of("c2"));
        assertThat(adopted).as("what this instance knew of its outcomes goes (OutcomeMarks)").containsExactly("c2");
        assertThat(journaled).as("the journal has it already").isEmpty();
        assertThat(journal.calls).containsExactly("flush", "unwritten", "read");
    }

    @Test
    void anEntryTheOtherInstanceChangedReplacesThisOnesWhoseNamespaceIsReleasedAndLeft() {
        live.put(entry("c1", NS_A, "sha256:a"));
        there.add("c1/" + NS_B.inode()); // the other instance's: its process is there
        journal.entries = List.of(entry("c1", NS_B, "sha256:b"));

        takeOver.runOnce();

        assertThat(live.get("c1").orElseThrow().policyDigest()).isEqualTo("sha256:b");
        assertThat(live.get("c1").orElseThrow().netns()).isEqualTo(NS_B);
        assertThat(enforcerCalls).containsExactly("released " + NS_A.inode(), "left c1 " + NS_A.inode(),
                "owner c1 sha256:b");
        assertThat(checkedSoon).containsExactly(Set.of("c1"));
        assertThat(adopted).containsExactly("c1");
    }

    @Test
    void anEntryAdoptedIntoANamespaceWithAMemberThisInstanceKeptHasWhatBothHoldReadAgain() {
        // a was alone here when this instance started (never read as a pod member); the other instance
        // enforced b beside it, so the first correction of b would judge b's guards without a's read
        live.put(entry("a", NS_A, "sha256:a"));
        journaled.clear();
        there.add("a/" + NS_A.inode());
        there.add("b/" + NS_A.inode());
        journal.entries = List.of(entry("a", NS_A, "sha256:a"), entry("b", NS_A, "sha256:a"));

        takeOver.runOnce();

        assertThat(live.get("b")).isPresent();
        assertThat(enforcerCalls).containsExactlyInAnyOrder("owner b sha256:a", "joined a", "joined b");
    }

    @Test
    void aContainerTheOtherInstanceReleasedAndGoneHereIsLeftToACorrectionThatReleasesIt() {
        live.put(entry("c3", NS_A, "sha256:a"));
        journaled.clear();
        journal.entries = List.of();

        takeOver.runOnce();

        assertThat(live.get("c3")).as("released by the correction, with its cleanup, not forgotten here").isPresent();
        assertThat(checkedSoon).containsExactly(Set.of("c3"));
        assertThat(enforcerCalls).isEmpty();
        assertThat(journaled).isEmpty();
    }

    @Test
    void aRunningContainerTheJournalHasAStaleTombstoneOrEntryForIsKeptAndWrittenAgain() {
        // the other instance, which did not know this instance's restart of c3, released its old instance, and
        // wrote c4 with a pid that is gone; both containers' processes here are in their namespaces
        live.put(entry("c3", NS_A, "sha256:a"));
        live.put(entry("c4", NS_A, "sha256:a"));
        there.add("c3/" + NS_A.inode());
        there.add("c4/" + NS_A.inode());
        journaled.clear();
        journal.entries = List.of(entry("c4", NS_B, "sha256:old"));

        takeOver.runOnce();

        assertThat(live.get("c3")).contains(entry("c3", NS_A, "sha256:a"));
        assertThat(live.get("c4")).contains(entry("c4", NS_A, "sha256:a"));
        assertThat(journaled).containsExactlyInAnyOrder("put c3", "put c4");
        assertThat(enforcerCalls).isEmpty();
        assertThat(checkedSoon).as("checked: the other instance may have written another policy there")
                .containsExactly(Set.of("c3", "c4"));
    }

    @Test
    void anEntryOfAContainerWhoseStopThisInstanceHandledIsNotTakenAndItsTombstoneIsWritten() {
        live.stopped("c9", java.time.Clock.systemUTC().instant(), T0.plusSeconds(60), 4242); // before the take-over
        journal.entries = List.of(entry("c9", NS_B, "sha256:b"));

        takeOver.runOnce();

        assertThat(live.get("c9")).isEmpty();
        assertThat(journaled).containsExactly("tombstone c9");
        assertThat(checkedSoon).containsExactly(Set.of());
    }

    @Test
    void anEntryOfAContainerStartedAgainAfterTheStopThisInstanceHandledIsTaken() {
        // a stop without pid of a container unknown here; the other instance then started it again
        live.stopped("c9", java.time.Clock.systemUTC().instant(), T0.minusSeconds(60), null);
        LiveContainer again = new LiveContainer("c9", "task-c9", "node-1", "podman", 4343, NS_B, null, "sha256:b", null,
                false, "nft", Map.of(), T0, T0); // started at T0, after the stop
        journal.entries = List.of(again);

        takeOver.runOnce();

        assertThat(live.get("c9")).contains(again);
        assertThat(journaled).isEmpty();
        assertThat(checkedSoon).containsExactly(Set.of("c9"));
    }

    @Test
    void whatThisInstanceChangesWhileTheJournalIsReadIsNotOverwritten() {
        live.put(entry("c4", NS_A, "sha256:a"));
        journal.duringRead = () -> {
            live.put(entry("c1", NS_A, "sha256:new")); // an event handled here meanwhile
            live.remove("c4");                          // a stop handled here meanwhile
            live.stopped("c5", T0, T0, 4242);           // a stop of a container not known here yet
        };
        journal.entries = List.of(entry("c1", NS_A, "sha256:old"), entry("c4", NS_A, "sha256:a"),
                entry("c5", NS_B, "sha256:b"));

        takeOver.runOnce();

        assertThat(live.get("c1").orElseThrow().policyDigest()).isEqualTo("sha256:new");
        assertThat(live.get("c4")).isEmpty();
        assertThat(live.get("c5")).isEmpty();
        assertThat(enforcerCalls).isEmpty();
        assertThat(live.changedWhileWatched("c1")).as("watching ends with the read").isFalse();
    }

    @Test
    void anEntryWhoseLastWriteIsNotAcknowledgedOrFailedKeepsThisInstancesVersion() {
        live.put(entry("c6", NS_A, "sha256:mine"));
        live.put(entry("c7", NS_A, "sha256:mine"));
        unsettled.put("c6", new CompletableFuture<>());
        journal.unwritten = List.of("c7");
        journal.entries = List.of(entry("c6", NS_A, "sha256:older"));

        takeOver.runOnce();

        assertThat(live.get("c6").orElseThrow().policyDigest()).isEqualTo("sha256:mine");
        assertThat(live.get("c7").orElseThrow().policyDigest()).as("failed write: not dropped").isEqualTo("sha256:mine");
        assertThat(enforcerCalls).isEmpty();
    }

    @Test
    void aJournalThatCannotBeReadLeavesTheLiveSetAsItWas() {
        live.put(entry("c1", NS_A, "sha256:a"));
        journal.failure = new TimeoutException("broker away");

        takeOver.runOnce();

        assertThat(live.get("c1")).contains(entry("c1", NS_A, "sha256:a"));
        assertThat(enforcerCalls).isEmpty();
        assertThat(checkedSoon).as("told the read failed").containsExactly((Set<String>) null);
        live.put(entry("c1", NS_A, "sha256:b"));
        assertThat(live.changedWhileWatched("c1")).isFalse();
    }

    @Test
    void anAssignmentReadsTheJournalOnItsOwnThread() {
        journal.entries = List.of(entry("c2", NS_B, "sha256:b"));

        takeOver.request();

        await().atMost(Duration.ofSeconds(10)).until(() -> live.get("c2").isPresent());
        assertThat(journal.readOn).startsWith("netfence-take-over");
    }

    private final class FakeJournal implements TakeOver.Journal {
        final List<String> calls = new ArrayList<>();
        volatile List<LiveContainer> entries = List.of();
        volatile Collection<String> unwritten = List.of();
        volatile Runnable duringRead = () -> { };
        volatile RuntimeException failure;
        volatile String readOn;

        @Override
        public void flush() {
            calls.add("flush");
        }

        @Override
        public Collection<String> unwritten() {
            calls.add("unwritten");
            return unwritten;
        }

        @Override
        public List<LiveContainer> read() {
            calls.add("read");
            readOn = Thread.currentThread().getName();
            duringRead.run();
            if (failure != null) {
                throw failure;
            }
            return entries;
        }
    }
}
