package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.testkit.MutableClock;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecentAnswersTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-04T21:00:00Z"));

    private static InetAddress v4(int last) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) 198, 51, 100, (byte) last});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aResolverThatRotatesItsAnswersGetsTheSameAddressesOnceEachWasNamedWithinTheWindow() {
        RecentAnswers recent = new RecentAnswers(clock, Duration.ofMinutes(5), 64);
        assertThat(recent.add("cdn.example", List.of(v4(3), v4(1)))).containsExactly(v4(1), v4(3));
        clock.advance(Duration.ofSeconds(30));
        assertThat(recent.add("cdn.example", List.of(v4(2), v4(4)))).containsExactly(v4(1), v4(2), v4(3), v4(4));
        clock.advance(Duration.ofSeconds(30));
        assertThat(recent.add("cdn.example", List.of(v4(1), v4(4)))).as("the rules stay as they were")
                .containsExactly(v4(1), v4(2), v4(3), v4(4));
    }

    @Test
    void anAddressNoAnswerNamedForLongerThanTheWindowIsDropped() {
        RecentAnswers recent = new RecentAnswers(clock, Duration.ofMinutes(5), 64);
        recent.add("moved.example", List.of(v4(1), v4(2)));
        clock.advance(Duration.ofMinutes(3));
        assertThat(recent.add("moved.example", List.of(v4(2)))).containsExactly(v4(1), v4(2));
        clock.advance(Duration.ofMinutes(2).plusSeconds(1));
        assertThat(recent.add("moved.example", List.of(v4(2)))).as("198.51.100.1 last named 5 min 1 s ago")
                .containsExactly(v4(2));
    }

    @Test
    void aNameKeepsAtMostTheCapTheMostRecentlyNamedFirst() {
        RecentAnswers recent = new RecentAnswers(clock, Duration.ofMinutes(5), 4);
        recent.add("wide.example", List.of(v4(1), v4(2), v4(3)));
        clock.advance(Duration.ofSeconds(1));
        assertThat(recent.add("wide.example", List.of(v4(7), v4(8)))).as("198.51.100.1 was named longest ago")
                .containsExactly(v4(2), v4(3), v4(7), v4(8));
        List<InetAddress> thousand = new ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            thousand.add(v4(i));
        }
        assertThat(recent.add("huge.example", thousand)).hasSize(4);
    }

    @Test
    void theCapHoldsForEachFamilyApart() throws Exception {
        RecentAnswers recent = new RecentAnswers(clock, Duration.ofMinutes(5), 2);
        List<InetAddress> answer = new ArrayList<>(List.of(v4(1)));
        for (int i = 1; i <= 5; i++) {
            answer.add(InetAddress.getByName("2001:db8::" + i));
        }
        assertThat(recent.add("mixed.example", answer)).as("five IPv6 addresses do not push the IPv4 one out")
                .contains(v4(1)).hasSize(3);
    }

    @Test
    void namesAreKeptApart() {
        RecentAnswers recent = new RecentAnswers(clock, Duration.ofMinutes(5), 64);
        recent.add("a.example", List.of(v4(1)));
        assertThat(recent.add("b.example", List.of(v4(2)))).containsExactly(v4(2));
    }

    @Test
    void aBadSettingIsRefusedWithItsValue() {
        assertThatThrownBy(() -> new RecentAnswers(clock, Duration.ofSeconds(-1), 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("window must not be negative, was: PT-1S");
        assertThatThrownBy(() -> new RecentAnswers(clock, Duration.ZERO, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("cap must be at least 1, was: 0");
    }
}
