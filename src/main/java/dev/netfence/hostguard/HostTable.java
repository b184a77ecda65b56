package dev.netfence.hostguard;

import java.io.IOException;

/**
 * The executor of netfence's table in the host namespace: runs one nft transaction and lists the
 * table. Implementations run in netfence's own (the host's) namespace and never enter another.
 */
public interface HostTable {
    /**
     * Runs {@code script} as one nft transaction (all or nothing). A refusal raises
     * {@link Rejected} with nft's message; being unable to run nft at all raises {@link IOException}.
     */
    void run(String script) throws IOException, Rejected;

    /** {@code nft list table netdev netfence} as text; empty when the table does not exist. */
    String list() throws IOException;

    /**
     * {@code nft list chain netdev netfence <chain>} as text (the table block around the one
     * chain, as {@link GuardRenderer#show} writes it); empty when the chain or the table does not
     * exist.
     */
    String listChain(String chain) throws IOException;

    /**
     * The generation of the host namespace's nftables ruleset, which the kernel advances with
     * every committed transaction there (by anyone), or -1 when this executor cannot tell (then
     * every comparison lists the chain).
     */
    default long generation() throws IOException {
        return -1;
    }

    /**
     * The table where neither libnftables nor the {@code nft} program is there (under
     * {@code --host-guard off}): it lists empty, since no netfence run could have written one
     * here, and refuses every transaction as unavailable.
     */
    HostTable ABSENT = new HostTable() {
        @Override
        public void run(String script) throws IOException {
            throw new IOException("neither libnftables nor the nft program is here");
        }

        @Override
        public String list() {
            return "";
        }

        @Override
        public String listChain(String chain) {
            return "";
        }
    };

    /** nft refused a transaction; nothing of it was applied. */
    final class Rejected extends Exception {
        private static final long serialVersionUID = 1L;

        public Rejected(String message) {
            super(message);
        }
    }
}
