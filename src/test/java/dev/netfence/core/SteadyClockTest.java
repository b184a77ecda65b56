package dev.netfence.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.ops.LoopHealth;
import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SteadyClockTest {
    private final MutableClock wall = new MutableClock(Instant.parse("2026-12-04T21:00:00Z"));
    private final AtomicLong nanos = new AtomicLong(5_000_000_000L);

    @Test
    void itStartsAtTheWallClocksInstantAndAdvancesWithTheTickSourceOnly() {
        SteadyClock steady = SteadyClock.startingAt(wall, nanos::get);
        assertThat(steady.instant()).isEqualTo(Instant.parse("2026-12-04T21:00:00Z"));
        nanos.addAndGet(Duration.ofMillis(1500).toNanos());
        wall.advance(Duration.ofMinutes(-10)); // the wall clock stepped back
        assertThat(steady.instant()).isEqualTo(Instant.parse("2026-12-04T21:00:01.500Z"));
        assertThat(steady.millis()).isEqualTo(Instant.parse("2026-12-04T21:00:01.500Z").toEpochMilli());
    }

    @Test
    void aWallClockStepBackDoesNotHideAStalledLoopOnIt() {
        LoopHealth health = new LoopHealth(SteadyClock.startingAt(wall, nanos::get), Duration.ofSeconds(30));
        health.beat();
        nanos.addAndGet(Duration.ofSeconds(45).toNanos());
        wall.advance(Duration.ofMinutes(-5));
        assertThat(health.liveness().check().healthy()).as("45 s without a beat, the wall clock stepped back 5 min meanwhile").isFalse();
    }

    @Test
    void aWallClockStepForwardDoesNotFakeAStallOnIt() {
        LoopHealth health = new LoopHealth(SteadyClock.startingAt(wall, nanos::get), Duration.ofSeconds(30));
        health.beat();
        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        wall.advance(Duration.ofMinutes(5));
        assertThat(health.liveness().check().healthy()).isTrue();
    }

    @Test
    void withZoneKeepsTheSameInstants() {
        SteadyClock steady = SteadyClock.startingAt(wall, nanos::get);
        nanos.addAndGet(7);
        assertThat(steady.withZone(ZoneOffset.ofHours(2)).instant()).isEqualTo(steady.instant());
    }
}
