package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.ChecksumOffload;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When the host guard's claim waits for transmit checksum offload to be off, and what it says when it cannot be. */
class ChecksumCompletionTest {
    private static final PinnedNamespace NS = new PinnedNamespace(1234, Path.of("/proc/1234/ns/net"),
            new NamespaceId(4, 4026532000L), () -> { });
    private static final Deadline LATER = new Deadline(Clock.systemUTC(), Instant.now().plusSeconds(30));
    private final List<PinnedNamespace> calls = new ArrayList<>();

    private ChecksumCompletion switching(ChecksumOffload.Switched answer) {
        return new ChecksumCompletion((ns, timeout) -> {
            calls.add(ns);
            return answer;
        });
    }

    @Test
    void aContainerHoldingNeitherCapabilityKeepsItsOffload() {
        ChecksumCompletion completion = switching(new ChecksumOffload.Switched(List.of("eth0"), List.of()));

        assertThat(completion.notHeld(NS, List.of("NO_SECCOMP"), LATER)).isNull();
        assertThat(calls).isEmpty();
    }

    @Test
    void netRawHeldInTheNamespaceTurnsItOffAndTheGuardHolds() {
        ChecksumCompletion completion = switching(new ChecksumOffload.Switched(List.of("eth0"), List.of()));

        assertThat(completion.notHeld(NS, List.of("CAP_NET_RAW"), LATER)).isNull();
        assertThat(calls).hasSize(1);
    }

    @Test
    void netAdminHeldInTheNamespaceTurnsItOffButTheGuardIsNotClaimed() {
        ChecksumCompletion completion = switching(new ChecksumOffload.Switched(List.of("eth0"), List.of()));

        assertThat(completion.notHeld(NS, List.of("CAP_NET_ADMIN", "CAP_NET_RAW"), LATER))
                .isEqualTo(ChecksumCompletion.NET_ADMIN);
        assertThat(calls).as("turned off all the same").hasSize(1);
    }

    @Test
    void anInterfaceWhoseOffloadStaysOnLeavesTheGuardUnclaimed() {
        ChecksumCompletion completion = switching(new ChecksumOffload.Switched(List.of(), List.of("eth1")));

        assertThat(completion.notHeld(NS, List.of("CAP_NET_RAW"), LATER)).isEqualTo("transmit checksum offload stays on"
                + " for [eth1] in the container's namespace (the device does not let it be turned off), and a workload"
                + " holding CAP_NET_RAW or CAP_NET_ADMIN can have the host complete a checksum at a position it chose,"
                + " after the host guard judged the frame");
    }

    @Test
    void aSwitchTheKernelRefusesLeavesTheGuardUnclaimedAndATimeoutIsThrown() {
        ChecksumCompletion refused = new ChecksumCompletion((ns, timeout) -> {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "errno 1");
        });
        assertThat(refused.notHeld(NS, List.of("CAP_NET_RAW"), LATER))
                .isEqualTo("transmit checksum offload could not be turned off in the container's namespace (errno 1)");

        ChecksumCompletion late = new ChecksumCompletion((ns, timeout) -> {
            throw new EnforcementException(ErrorCode.TIMEOUT, "no namespace thread");
        });
        assertThatThrownBy(() -> late.notHeld(NS, List.of("CAP_NET_RAW"), LATER))
                .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT));
    }

    @Test
    void withoutTheRealProcNothingCanTurnItOffAndTheGuardIsNotClaimed() {
        ChecksumCompletion completion = new ChecksumCompletion(Path.of("/tmp/fake-proc"));

        assertThat(completion.notHeld(NS, List.of("CAP_NET_RAW"), LATER)).startsWith("transmit checksum offload cannot be"
                + " turned off in the container's namespace (the proc root is /tmp/fake-proc, not /proc)");
        assertThat(completion.notHeld(NS, List.of(), LATER)).isNull();
    }
}
