package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.testkit.CapturedLogs;
import java.util.List;
import org.junit.jupiter.api.Test;

class GuardReasonsTest {
    private static final HostGuards.Result CLAIMED = new HostGuards.Result(List.of("netns", "host"), List.of(), null, null);

    private static HostGuards.Result notClaimed(String reason) {
        return new HostGuards.Result(List.of("netns"), List.of(), reason, null);
    }

    @Test
    void whyAHostGuardIsNotClaimedIsLoggedOncePerChangeAndItsReturnOnce() {
        GuardReasons reasons = new GuardReasons();
        try (CapturedLogs logs = CapturedLogs.of(GuardReasons.class)) {
            reasons.seen("c1", CLAIMED);
            reasons.seen("c1", notClaimed("a pod member beside it holds CAP_NET_ADMIN over the host"));
            reasons.seen("c1", notClaimed("a pod member beside it holds CAP_NET_ADMIN over the host"));
            reasons.seen("c1", notClaimed("source addresses not readable yet"));
            reasons.seen("c1", CLAIMED);
            reasons.seen("c1", CLAIMED);
            reasons.seen(null, notClaimed("no container id: nothing to name"));

            assertThat(logs.messages(Level.INFO)).containsExactly(
                    "container c1: its host guard is not claimed (guards [netns]): a pod member beside it holds"
                            + " CAP_NET_ADMIN over the host",
                    "container c1: its host guard is not claimed (guards [netns]): source addresses not readable yet",
                    "container c1: its host guard is claimed again");
        }
    }

    @Test
    void aContainerThatLeftIsForgottenSoItsNextReasonIsLoggedAgain() {
        GuardReasons reasons = new GuardReasons();
        try (CapturedLogs logs = CapturedLogs.of(GuardReasons.class)) {
            reasons.seen("c1", notClaimed("why"));
            reasons.forget("c1");
            reasons.seen("c1", notClaimed("why"));

            assertThat(logs.messages(Level.INFO)).hasSize(2);
        }
    }
}
