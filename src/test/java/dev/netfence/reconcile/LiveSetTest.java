package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.event.ContainerEvent;
import dev.netfence.netns.NamespaceId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LiveSetTest {
    private static final Instant T0 = Instant.parse("2026-11-30T20:00:00Z");

    private final List<String> journal = new ArrayList<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final LiveSet live = new LiveSet(new LiveSetJournal() {
        @Override
        public void record(LiveContainer c) {
            journal.add("put " + c.containerId() + " " + c.policyDigest());
        }

        @Override
        public void remove(String containerId) {
            journal.add("tombstone " + containerId);
        }
    }, registry);

    static LiveContainer entry(String id, String task, String digest) {
        return new LiveContainer(id, task, "node-1", null, 4242, new NamespaceId(4, 4026530000L), null, digest, null, false,
                "iptables-nft", Map.of(), T0);
    }

    @Test
    void aChangeOfStateIsJournaledButAVerificationIsNot() {
        live.put(entry("c1", "t1", "sha256:a"));
        live.put(entry("c1", "t1", "sha256:a").verifiedAt(T0.plusSeconds(30)));
        live.verified("c1", T0.plusSeconds(60));
        live.put(entry("c1", "t1", "sha256:b"));

        assertThat(journal).containsExactly("put c1 sha256:a", "put c1 sha256:b");
        assertThat(live.get("c1").orElseThrow().policyDigest()).isEqualTo("sha256:b");
    }

    @Test
    void containersAreFoundByTaskUntilReleasedAndTheGaugeFollows() {
        live.put(entry("c1", "t1", "sha256:a"));
        live.put(entry("c2", "t1", "sha256:a"));
        live.put(entry("c3", "t2", "sha256:a"));
        assertThat(live.ofTask("t1")).extracting(LiveContainer::containerId).containsExactlyInAnyOrder("c1", "c2");
        assertThat(registry.get("netfence.live.containers").gauge().value()).isEqualTo(3.0);

        assertThat(live.remove("c1")).isPresent();
        assertThat(live.remove("c1")).isEmpty();

        assertThat(live.ofTask("t1")).extracting(LiveContainer::containerId).containsExactly("c2");
        assertThat(registry.get("netfence.live.containers").gauge().value()).isEqualTo(2.0);
        assertThat(journal).containsOnlyOnce("tombstone c1");
    }

    @Test
    void aContainerThatMovesToAnotherTaskIsIndexedUnderTheNewOneOnly() {
        live.put(entry("c1", "t1", "sha256:a"));
        live.put(entry("c1", "t2", "sha256:a"));
        assertThat(live.ofTask("t1")).isEmpty();
        assertThat(live.ofTask("t2")).hasSize(1);
    }

    @Test
    void restoredEntriesNeverOverwriteWhatThisRunAlreadyKnowsAndAreNotJournaledAgain() {
        live.put(entry("c1", "t1", "sha256:new"));
        live.restore(entry("c1", "t1", "sha256:old"));
        live.restore(entry("c2", "t1", "sha256:old"));
        assertThat(live.get("c1").orElseThrow().policyDigest()).isEqualTo("sha256:new");
        assertThat(live.ofTask("t1")).hasSize(2);
        assertThat(journal).containsExactly("put c1 sha256:new");
    }

    @Test
    void stoppedContainersAreRememberedForAnHourAndAtMostTenThousand() {
        live.stopped("c1", T0, T0.minusSeconds(5), 4242);
        assertThat(live.stopOf("c1", T0.plusSeconds(60))).contains(new LiveSet.Stop(T0, T0.minusSeconds(5), 4242));
        assertThat(live.stopOf("c1", T0.plus(LiveSet.STOPPED_TTL).plus(Duration.ofSeconds(1)))).isEmpty();

        for (int i = 0; i < LiveSet.MAX_STOPPED + 500; i++) {
            live.stopped("s" + i, T0.plusMillis(i), T0.plusMillis(i), null);
        }
        assertThat(live.stoppedRemembered()).isEqualTo(LiveSet.MAX_STOPPED);
        assertThat(live.stopOf("s0", T0.plusSeconds(20))).isEmpty();
        assertThat(live.stopOf("s" + (LiveSet.MAX_STOPPED + 499), T0.plusSeconds(20))).isPresent();
    }

    @Test
    void theEntriesTheJournalHasNotWrittenYetAreAGauge() {
        SimpleMeterRegistry own = new SimpleMeterRegistry();
        new LiveSet(new LiveSetJournal() {
            @Override
            public void record(LiveContainer c) {
            }

            @Override
            public void remove(String containerId) {
            }

            @Override
            public int unwrittenCount() {
                return 3;
            }
        }, own);

        assertThat(own.get(dev.netfence.core.MeterNames.JOURNAL_UNWRITTEN).gauge().value()).isEqualTo(3.0);
    }

    @ParameterizedTest(name = "stop pid {0}, start pid {1}, start {2} s after the stop: covered {3}")
    @CsvSource(nullValues = "null", value = {
            // a start after the stop is a new instance, whatever its pid
            "100, 100, 1, false",
            "null, null, 1, false",
            // no later than the stop: the stopped instance's start, reordered or replayed
            "100, 100, 0, true",
            "100, 100, -3, true",
            "null, 200, 0, true",
            // another pid, or none (the runtime's answer), in the same second or within the clock skew:
            // the same id started again
            "100, 200, 0, false",
            "100, 200, -10, false",
            "100, null, 0, false",
            "null, null, 0, false",
            // long before the stop: an earlier instance's replayed start
            "100, 200, -11, true",
            "100, null, -11, true",
    })
    void aRememberedStopCoversTheStartsOfTheStoppedInstanceAndEarlierOnes(Integer stopPid, Integer startPid,
            long startOffsetSeconds, boolean covered) {
        LiveSet.Stop stop = new LiveSet.Stop(T0, T0, stopPid);
        ContainerEvent start = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-1",
                T0.plusSeconds(startOffsetSeconds), "node-1", "t1", "c1", null, startPid);

        assertThat(stop.covers(start)).isEqualTo(covered);
    }
}
