package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.rules.PlannedRules;
import java.util.Objects;
import java.util.Optional;

/**
 * The steps of one nft apply, the same whether the commands run in-process (on a namespace
 * thread, while away) or through {@code nsenter nft}: replace netfence's table in one transaction,
 * read the ruleset back as JSON, remove what the iptables backend left that nftables can see (its
 * {@code NETFENCE-*} chains and the jumps to them, in a second transaction, only when present:
 * a namespace that switched backend), and verify the table against the plan. It never logs and
 * never throws for the rules' or the kernel's sake: the {@link Result} says how far it got, so a
 * caller away from home can carry it back and report it there.
 */
final class NftApply {
    /** Runs nft script text (one transaction) and lists the ruleset as JSON, in the target namespace. */
    interface Commands {
        NftContext.Run apply(String script);

        NftContext.Run listJson();

        /**
         * The namespace's nftables ruleset generation ({@link NftGeneration}), or
         * {@link NftGeneration#UNKNOWN} where it cannot be read (then nothing is skipped later).
         */
        default long generation() {
            return NftGeneration.UNKNOWN;
        }
    }

    /**
     * How an apply went.
     *
     * @param changed whether the table transaction was committed (the namespace's rules changed)
     * @param error why the apply does not count as applied, or null
     * @param removedIptablesChains whether the iptables backend's chains were found and removed
     * @param generation the ruleset generation the verifying read-back belongs to (read the same
     *     just before and just after it), or {@link NftGeneration#UNKNOWN}
     */
    record Result(boolean changed, EnforcementException error, boolean removedIptablesChains, long generation) {
        Result(boolean changed, EnforcementException error, boolean removedIptablesChains) {
            this(changed, error, removedIptablesChains, NftGeneration.UNKNOWN);
        }
    }

    /**
     * A read-back compared with a plan.
     *
     * @param difference what differs, empty when the table is exactly the plan
     * @param generation the ruleset generation that read-back belongs to, or {@link NftGeneration#UNKNOWN}
     */
    record Drift(Optional<String> difference, long generation) {}

    private final NftRenderer renderer;
    private final NftVerifier verifier;
    private final RenderedPlans rendered;

    NftApply(NftRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
        this.verifier = new NftVerifier(renderer);
        this.rendered = new RenderedPlans(renderer);
    }

    Result apply(Commands commands, PlannedRules plan) {
        RenderedPlans.Rendered text = rendered.of(plan);
        NftContext.Run applied = commands.apply(text.transaction());
        if (!applied.ok()) {
            return new Result(false, NftErrors.classify("netfence's table", applied.errors()), false);
        }
        NftRuleset read;
        boolean removed = false;
        long before;
        try {
            before = commands.generation();
            read = read(commands);
            if (!read.leftovers().isEmpty()) {
                NftContext.Run cleaned = commands.apply(renderer.removeIptablesLeftovers(read.leftovers()));
                removed = cleaned.ok();
                before = commands.generation();
                read = read(commands);
                if (!cleaned.ok() && !read.leftovers().isEmpty()) {
                    // (a refusal with nothing left over means another writer removed them first)
                    return new Result(true, NftErrors.classify("removing the iptables backend's chains",
                            cleaned.errors()), false);
                }
                if (!read.leftovers().isEmpty()) {
                    return new Result(true, new EnforcementException(ErrorCode.VERIFY_FAILED,
                            "the iptables backend's chains are still there after removing them: " + read.leftovers()),
                            true);
                }
            }
        } catch (EnforcementException e) {
            return new Result(true, e, removed);
        }
        Optional<String> mismatch = verifier.mismatch(text.expected(), read);
        if (mismatch.isPresent()) {
            return new Result(true, new EnforcementException(ErrorCode.VERIFY_FAILED,
                    "nft read-back differs: " + mismatch.get()), removed);
        }
        return new Result(true, null, removed, sameGeneration(before, commands.generation()));
    }

    /**
     * Reads the ruleset back and compares netfence's table with {@code plan}, writing nothing: what
     * differs (or the iptables backend's chains being present), empty when it is exactly the plan,
     * with the ruleset generation the read-back belongs to. An unreadable listing is thrown.
     */
    Drift drift(Commands commands, PlannedRules plan) {
        long before = commands.generation();
        NftRuleset read = read(commands);
        if (!read.leftovers().isEmpty()) {
            return new Drift(Optional.of("the iptables backend's chains are present: " + read.leftovers()),
                    NftGeneration.UNKNOWN);
        }
        Optional<String> mismatch = verifier.mismatch(rendered.of(plan).expected(), read);
        return new Drift(mismatch, mismatch.isPresent() ? NftGeneration.UNKNOWN
                : sameGeneration(before, commands.generation()));
    }

    /** {@code before} when it equals {@code after} (nothing was committed around the read-back), else UNKNOWN. */
    private static long sameGeneration(long before, long after) {
        return before == after ? before : NftGeneration.UNKNOWN;
    }

    /** Removes netfence's table (switching to the iptables backend); the exception, or null. */
    EnforcementException deleteTable(Commands commands) {
        NftContext.Run deleted = commands.apply(renderer.deleteTable());
        return deleted.ok() ? null : NftErrors.classify("deleting netfence's table", deleted.errors());
    }

    private static NftRuleset read(Commands commands) {
        NftContext.Run listed = commands.listJson();
        if (!listed.ok()) {
            throw NftErrors.classify("listing the ruleset", listed.errors());
        }
        try {
            return NftRuleset.parse(listed.output());
        } catch (IllegalArgumentException e) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "unreadable nft listing: " + e.getMessage());
        }
    }
}
