package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A point in time on an injected clock past which an apply gives up with TIMEOUT, and the
 * arithmetic to cap each command's timeout at the time that is left. The clock is the deadlines'
 * steady one in netfence, so its instants are never printed as times of day.
 */
final class Deadline {
    private final Clock clock;
    private final Instant at;

    Deadline(Clock clock, Instant at) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.at = Objects.requireNonNull(at, "at");
    }

    Instant at() {
        return at;
    }

    /** A deadline half the time left from now: for a step that must leave the other half to what follows it. */
    Deadline halfway() {
        return new Deadline(clock, clock.instant().plus(remaining().dividedBy(2)));
    }

    /** Time left, zero when passed. */
    Duration remaining() {
        Duration left = Duration.between(clock.instant(), at);
        return left.isNegative() ? Duration.ZERO : left;
    }

    boolean passed() {
        return !clock.instant().isBefore(at);
    }

    /** Throws TIMEOUT when the deadline has passed; {@code doing} names the step for the message. */
    void check(String doing) {
        if (passed()) {
            // not the instant: on a steady clock it is no time of day anyone could read
            throw new EnforcementException(ErrorCode.TIMEOUT, "the deadline passed "
                    + Duration.between(at, clock.instant()).toMillis() + " ms ago, before " + doing);
        }
    }

    /** {@code limit}, or the time left when that is shorter; TIMEOUT when nothing is left. */
    Duration cap(Duration limit, String doing) {
        check(doing);
        Duration left = remaining();
        return left.compareTo(limit) < 0 ? left : limit;
    }
}
