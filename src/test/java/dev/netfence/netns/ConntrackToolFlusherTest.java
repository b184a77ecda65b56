package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conntrack flush as a command: its argv, and how its failures are sorted. */
class ConntrackToolFlusherTest {
    private final PinnedNamespace ns = new PinnedNamespace(42, Path.of("/proc/7/fd/9"), new NamespaceId(1, 4026532000L), () -> { });

    @Test
    void flushesBothFamiliesWithTheConntrackToolInsideThePinnedNamespace() {
        List<List<String>> ran = new ArrayList<>();
        new ConntrackToolFlusher((argv, stdin, timeout) -> {
            ran.add(argv);
            return new CommandResult(argv, 0, "", "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.\n");
        }).flush(ns, Duration.ofSeconds(5));

        assertThat(ran).containsExactly(List.of("nsenter", "--net=/proc/7/fd/9", "--", "conntrack", "-F"));
    }

    @Test
    void aMissingToolOrARefusalIsFirewallUnavailableAndATimeoutIsTimeout() {
        assertThatThrownBy(() -> new ConntrackToolFlusher((argv, stdin, timeout) ->
                new CommandResult(argv, 127, "", "nsenter: failed to execute conntrack: No such file or directory"))
                .flush(ns, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE);
                    assertThat(e.getMessage()).contains("install conntrack");
                });
        assertThatThrownBy(() -> new ConntrackToolFlusher((argv, stdin, timeout) ->
                new CommandResult(argv, 1, "", "conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted"))
                .flush(ns, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE));
        assertThatThrownBy(() -> new ConntrackToolFlusher((argv, stdin, timeout) -> {
            throw new CommandTimeoutException(argv, timeout);
        }).flush(ns, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT));
    }
}
