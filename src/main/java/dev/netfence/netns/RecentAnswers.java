package dev.netfence.netns;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The addresses each hostname resolved to lately, so that a name whose resolver rotates its
 * answers (a CDN or load balancer returning two of its eight addresses per query) gets the same
 * rules at every resync instead of rules rewritten, and connection tracking flushed, each time:
 * an address stays for {@link #window} after the last answer that named it (as Cilium keeps a
 * name's addresses for a minimum TTL), and a name keeps at most {@link #cap} addresses of each
 * family, the most recently named first (a resolver answering with thousands would otherwise write
 * thousands of rules; one family's flood does not push the other out), logged when one answer
 * brings more (not when older answers' addresses are trimmed: rotation is expected). The result is sorted ({@link SystemEndpointResolver#ordered}), so the rules do not
 * move with the answers' order. Give it a steady clock: a step of the wall clock must not keep an
 * address longer. Thread-safe.
 */
final class RecentAnswers {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RecentAnswers.class);
    /** How long an address stays after the last answer that named it, by default. */
    static final Duration WINDOW = Duration.ofMinutes(5);
    /** At most this many addresses of each family per name, by default. */
    static final int CAP = 64;

    private final Clock clock;
    private final Duration window;
    private final int cap;
    /** Per name: address to the last time an answer named it, in the order last named (most recent last). */
    private final Map<String, LinkedHashMap<InetAddress, Long>> seen = new HashMap<>();

    RecentAnswers(Clock clock, Duration window, int cap) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.window = Objects.requireNonNull(window, "window");
        if (window.isNegative()) {
            throw new IllegalArgumentException("window must not be negative, was: " + window);
        }
        if (cap < 1) {
            throw new IllegalArgumentException("cap must be at least 1, was: " + cap);
        }
        this.cap = cap;
    }

    /**
     * Records {@code answer} for {@code hostname} and returns the addresses to allow for it: this
     * answer's and the earlier ones' still within the window, at most the cap, sorted.
     */
    synchronized List<InetAddress> add(String hostname, List<InetAddress> answer) {
        long now = clock.millis();
        LinkedHashMap<InetAddress, Long> known = seen.computeIfAbsent(hostname, h -> new LinkedHashMap<>());
        known.values().removeIf(at -> now - at > window.toMillis());
        for (InetAddress a : SystemEndpointResolver.ordered(answer)) {
            known.remove(a); // re-inserted as the most recently named
            known.put(a, now);
        }
        trim(known, 4);
        trim(known, 16);
        if (answer.stream().distinct().filter(a -> a.getAddress().length == 4).count() > cap
                || answer.stream().distinct().filter(a -> a.getAddress().length == 16).count() > cap) {
            LOG.warn("{} resolved to more than {} addresses of a family: the rest are left out", hostname, cap);
        }
        if (seen.size() > 4 * 1024) { // names no policy asks for any more: dropped once their addresses expired
            seen.values().removeIf(m -> m.values().stream().allMatch(at -> now - at > window.toMillis()));
        }
        return SystemEndpointResolver.ordered(new ArrayList<>(known.keySet()));
    }

    /** Drops the least recently named addresses of {@code length} bytes beyond the cap. */
    private void trim(LinkedHashMap<InetAddress, Long> known, int length) {
        int over = (int) known.keySet().stream().filter(a -> a.getAddress().length == length).count() - cap;
        int dropped = 0;
        for (var it = known.keySet().iterator(); it.hasNext() && dropped < over; ) {
            if (it.next().getAddress().length == length) {
                it.remove();
                dropped++;
            }
        }
    }
}
