package dev.netfence.hostguard;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.LibNftables;
import java.io.IOException;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host table's calls as {@link GuardWrites} needs them, with its failures sorted once: nft
 * that cannot be reached is FIREWALL_UNAVAILABLE, a libnftables turn that did not come within its
 * wait is LOCK_CONTENDED (contention, retried), a refused script stays {@link HostTable.Rejected}
 * for the caller to handle, and a ruleset generation that cannot be asked is -1 (the caller then
 * compares by listing). Not thread-safe on its own: used under GuardWrites' monitor.
 */
final class GuardTableCalls {
    private static final Logger LOG = LoggerFactory.getLogger(GuardWrites.class);

    private final HostTable table;

    GuardTableCalls(HostTable table) {
        this.table = Objects.requireNonNull(table, "table");
    }

    void run(String script) throws HostTable.Rejected {
        try {
            table.run(script);
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    String list() {
        try {
            return table.list();
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    String listChain(String chain) {
        try {
            return table.listChain(chain);
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    /** The host ruleset's generation, or -1 when the table cannot tell or asking fails (then chains are listed). */
    long generation() {
        try {
            return table.generation();
        } catch (IOException e) {
            LOG.debug("host ruleset generation unavailable ({}); comparing by listing", e.getMessage());
            return -1;
        }
    }

    static EnforcementException unavailable(IOException e) {
        ErrorCode code = LibNftables.Busy.in(e.getMessage()) ? ErrorCode.LOCK_CONTENDED : ErrorCode.FIREWALL_UNAVAILABLE;
        return new EnforcementException(code, "host guard: " + e.getMessage(), e);
    }
}
