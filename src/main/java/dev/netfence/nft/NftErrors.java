package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.util.List;
import java.util.Locale;

/**
 * Sorts what libnftables (or {@code nft}) wrote to its error buffer into netfence's error codes.
 * The text is the only signal libnftables gives (the return code is just -1/1), and it carries
 * the kernel's errno message after {@code Could not process rule:}. Permanent and not the rules'
 * fault, FIREWALL_UNAVAILABLE: no privilege ({@code Operation not permitted}, {@code Permission
 * denied}), no nf_tables in the kernel ({@code Protocol not supported}, {@code Address family not
 * supported}, {@code Unable to ...} opening or using the netlink socket). Transient, retried as
 * LOCK_CONTENDED (the firewall was busy): {@code Interrupted system call}, {@code Resource
 * temporarily unavailable}, {@code Device or resource busy}, {@code No buffer space available}.
 * Everything else, syntax errors and {@code Invalid argument} included, is RULES_REJECTED
 * (permanent): the same text would be refused again.
 */
final class NftErrors {
    private static final List<String> UNAVAILABLE = List.of("operation not permitted", "permission denied",
            "protocol not supported", "address family not supported", "unable to ", "cannot open netlink");
    private static final List<String> BUSY = List.of("interrupted system call", "resource temporarily unavailable",
            "device or resource busy", "no buffer space available");

    private NftErrors() {}

    /** The exception for a refused {@code what} (e.g. "applying the table") with libnftables' error text. */
    static EnforcementException classify(String what, String errors) {
        String text = errors == null ? "" : errors.strip();
        if (text.length() > 2000) {
            text = text.substring(0, 2000) + "…";
        }
        String lower = text.toLowerCase(Locale.ROOT);
        String message = "nftables refused " + what + (text.isEmpty() ? "" : ": " + text);
        for (String s : UNAVAILABLE) {
            if (lower.contains(s)) {
                return new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, message);
            }
        }
        for (String s : BUSY) {
            if (lower.contains(s)) {
                return new EnforcementException(ErrorCode.LOCK_CONTENDED, message);
            }
        }
        return new EnforcementException(ErrorCode.RULES_REJECTED, message);
    }
}
