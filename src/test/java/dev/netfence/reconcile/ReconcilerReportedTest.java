package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.netns.NamespaceId;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What an {@code applied} outcome said of a container's risks and guards stays true: a resync
 * that finds its rules as they were but the risks or guards otherwise (a thread given a
 * capability since, a pod member beside it that can get past the host guard) publishes a drift
 * outcome that says what holds now, once, and so does a quarantine whose guards change; an entry
 * that never recorded them (an older version's) records them without an outcome.
 */
class ReconcilerReportedTest extends ReconcilerFixture {

    @Test
    void aResyncThatFindsTheHostGuardNoLongerHoldingPublishesADriftOutcomeThatSaysSoOnce() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        reconciler.resyncNow();
        assertThat(published).as("nothing changed").isEmpty();
        int writes = journalWrites.get();

        enforcer.guards = List.of("netns"); // a pod member that can get past the shared veth's chain joined
        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.guards()).containsExactly("netns");
        });
        assertThat(journalWrites.get()).as("the new claim recorded once, with its outcome not acknowledged, and"
                + " once more when it is").isEqualTo(writes + 2);

        enforcer.guards = List.of("netns", "host"); // it left
        reconciler.resyncNow();
        assertThat(published).hasSize(2);
        assertThat(published.get(1).guards()).containsExactly("netns", "host");
    }

    @Test
    void aResyncThatFindsNewRisksPublishesThem() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        enforcer.risks = List.of("CAP_NET_ADMIN", "CAP_NET_RAW"); // podman exec --privileged
        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        });
    }

    @Test
    void aResyncWhoseHostnameStoppedResolvingIsGivenTheLastAnswersAndPublishesItsWarningOnceAndAgainWhenItResolves()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        enforcer.resolved = Map.of("api.tenant.example", List.of("198.51.100.12"));
        start("c1", "task-1");
        reconciler.resyncNow();
        assertThat(published).as("nothing changed").isEmpty();
        assertThat(enforcer.lastResolved).as("what its rules were last verified with")
                .isEqualTo(Map.of("api.tenant.example", List.of("198.51.100.12")));

        // the enforcer kept the name's last answers (KeptAnswers): the rules are verified, the name is stale
        enforcer.warnings = List.of("allowedEndpoints: api.tenant.example did not resolve at this resync (...)");
        reconciler.resyncNow();
        reconciler.resyncNow();
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.warnings()).containsExactly(enforcer.warnings.get(0));
        });

        enforcer.warnings = List.of(); // it resolves again
        reconciler.resyncNow();
        assertThat(published).hasSize(2);
        assertThat(published.get(1).warnings()).isEmpty();
    }

    @Test
    void aQuarantinesGuardsThatChangeArePublishedOnceToo() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        policies.delete("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 1);
        assertThat(published.get(0).guards()).containsExactly("netns", "host");

        enforcer.quarantineGuards = List.of("netns");
        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(published).hasSize(2);
        assertThat(published.get(1)).satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.status()).isEqualTo("failed");
            assertThat(o.quarantined()).isTrue();
            assertThat(o.guards()).containsExactly("netns");
        });
    }

    @Test
    void anEntryThatRecordedNothingReportedIsNotReportedAsChanged() {
        NamespaceId ns = new NamespaceId(4, 9);
        LiveContainer older = new LiveContainer("c1", "t", "n", null, 77, ns, null, null, null, false, "nft", Map.of(),
                Instant.EPOCH, null);
        LiveContainer.Reported now = new LiveContainer.Reported(List.of(), List.of("netns"));

        assertThat(older.reporting(now).reportsOtherThan(older)).isFalse();
        assertThat(older.reporting(now).sameState(older)).as("but written to the journal").isFalse();
        assertThat(older.reporting(now).reportsOtherThan(older.reporting(
                new LiveContainer.Reported(List.of(), List.of("netns", "host"))))).isTrue();
        assertThat(older.reporting(now).reportsOtherThan(null)).isTrue();
        // an entry that recorded risks and guards but no warnings (a version before they were recorded)
        LiveContainer.Reported warned = new LiveContainer.Reported(List.of(), List.of("netns"), List.of("a warning"));
        assertThat(older.reporting(warned).reportsOtherThan(older.reporting(now))).isFalse();
        assertThat(older.reporting(warned).reportsOtherThan(older.reporting(
                new LiveContainer.Reported(List.of(), List.of("netns"), List.of())))).isTrue();
    }
}
