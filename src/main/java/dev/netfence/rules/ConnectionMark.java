package dev.netfence.rules;

/**
 * The connection mark a plan sets on the connections its accepts let through, the same for every
 * backend: the first 32 bits of the plan's digest (1 where they are 0, the mark of a connection
 * nothing marked). A plan's established accept takes replies only of a connection that carries its
 * mark, so an entry that came into the connection-tracking table under another plan (a packet
 * that passed the old rules and was confirmed after the apply's flush) lets nothing in until the
 * workload sends on it again and the current rules allow that; a plan that did not change keeps
 * its mark, so a re-apply of it cuts no reply. netfence owns the whole mark in the namespace.
 */
public final class ConnectionMark {
    private ConnectionMark() {}

    /** The mark of the plan whose digest is {@code digest} ({@code sha256:<64 hex>}), 1 to 2^32 - 1. */
    public static long of(String digest) {
        if (digest == null || !digest.startsWith("sha256:") || digest.length() < "sha256:".length() + 8) {
            throw new IllegalArgumentException("digest must be sha256:<hex>, was: " + digest);
        }
        long m = Long.parseLong(digest.substring("sha256:".length(), "sha256:".length() + 8), 16);
        return m == 0 ? 1 : m;
    }
}
