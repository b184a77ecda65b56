package dev.netfence.nft;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The listings of netfence's two chains that last verified against one plan, text for text.
 * netfence replaces its table whole, and a new table numbers its chains and rules from one again,
 * so while a namespace's table holds a plan, {@code list chain} shows the same text byte for byte,
 * in every namespace and at every apply. Parsing that text into Jackson's tree and comparing it
 * with the plan again gives the same answer, and was most of the Java CPU and of the allocation of
 * a read-back (docs/performance.md). So a read-back whose two listings equal the remembered ones is
 * verified; any byte that differs (a rule changed, added or moved, another handle) is parsed and
 * compared in full. Only listings that verified, with no other table listed beside them, are
 * remembered, one pair per plan, as {@link RenderedPlans} remembers plans. Thread-safe.
 */
final class VerifiedListing {
    private record Listings(String out, String in) {}

    private final AtomicReference<Listings> last = new AtomicReference<>();

    /** Whether {@code out} and {@code in} are exactly the listings that last verified against the plan. */
    boolean matches(String out, String in) {
        Listings known = last.get();
        return known != null && known.out().equals(out) && known.in().equals(in);
    }

    /** Remembers {@code out} and {@code in}: listings that verified against the plan. */
    void remember(String out, String in) {
        last.set(new Listings(Objects.requireNonNull(out, "out"), Objects.requireNonNull(in, "in")));
    }
}
