package dev.netfence.hostguard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One guarded host interface: the chain of netfence's host table that filters every frame the
 * container sends through it. The chain is named after the interface ({@code device}) and bound
 * to it; its comment records the interface's ifindex and the container that owns it, so a guard
 * left by an earlier run can be adopted or removed, and a chain whose interface name was reused
 * by another container (same name, different ifindex) is told apart. Interface names outside
 * {@code [A-Za-z0-9_.-]{1,15}} are refused (they could not be written into nft text safely).
 *
 * @param owner the container id, or its {@code sha256-<32 hex>} when longer than fits in a comment
 */
public record GuardChain(String device, int ifindex, String owner) {
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9_.-]{1,15}");
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}");
    private static final Pattern COMMENT = Pattern.compile("netfence container=(\\S+) ifindex=(\\d+)");

    public GuardChain {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(owner, "owner");
        if (!validDevice(device)) {
            throw new IllegalArgumentException("device must match " + DEVICE + ", was: " + device);
        }
        if (ifindex < 1) {
            throw new IllegalArgumentException("ifindex must be positive, was: " + ifindex);
        }
        if (!OWNER.matcher(owner).matches()) {
            throw new IllegalArgumentException("owner must match " + OWNER + ", was: " + owner);
        }
    }

    /** Whether an interface name can be guarded (written into nft text as a chain and device name). */
    public static boolean validDevice(String device) {
        return device != null && DEVICE.matcher(device).matches();
    }

    /**
     * The owner string recorded for {@code containerId}: the id itself when it fits, else a
     * digest of it; {@code pid-<pid>} when there is no container id (a bare {@code apply --pid}).
     */
    public static String ownerOf(String containerId, int pid) {
        if (containerId == null) {
            return "pid-" + pid;
        }
        if (OWNER.matcher(containerId).matches()) {
            return containerId;
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(containerId.getBytes(StandardCharsets.UTF_8));
            return "sha256-" + HexFormat.of().formatHex(hash, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    /** The chain's comment, as nft prints it back (without quotes). */
    public String comment() {
        return "netfence container=" + owner + " ifindex=" + ifindex;
    }

    /** The guard a listed chain describes, when its name and comment have netfence's shape. */
    public static Optional<GuardChain> fromListing(String chain, String comment) {
        if (comment == null || !validDevice(chain)) {
            return Optional.empty();
        }
        Matcher m = COMMENT.matcher(comment);
        if (!m.matches() || !OWNER.matcher(m.group(1)).matches()) {
            return Optional.empty();
        }
        try {
            int ifindex = Integer.parseInt(m.group(2));
            return ifindex < 1 ? Optional.empty() : Optional.of(new GuardChain(chain, ifindex, m.group(1)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
