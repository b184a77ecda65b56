package dev.netfence.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An IPv4 or IPv6 network with no host bits set, e.g. {@code 10.0.0.0/8} or {@code fc00::/7}.
 *
 * @param address canonical network address (as {@link java.net.InetAddress#getHostAddress()}
 *     prints it for IPv4; compressed lower-case RFC 5952 form for IPv6)
 */
public record Cidr(String address, int prefix, Family family) {
    public Cidr {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(family, "family");
        int max = family == Family.IPV4 ? 32 : 128;
        if (prefix < 0 || prefix > max) {
            throw new IllegalArgumentException("prefix must be 0-" + max + ", was: " + prefix);
        }
    }

    /** Whether {@code address} (4 or 16 bytes) lies in this network; false for the other family. */
    public boolean contains(byte[] address) {
        Objects.requireNonNull(address, "address");
        byte[] network = family == Family.IPV4 ? IpAddresses.parseIpv4(this.address) : IpAddresses.parseIpv6(this.address);
        if (network == null || address.length != network.length) {
            return false;
        }
        for (int bit = 0; bit < prefix; bit++) {
            int mask = 0x80 >> (bit % 8);
            if ((network[bit / 8] & mask) != (address[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code networks} together hold every address of {@code family}: a {@code /0}, or
     * any set of networks that leaves no gap (two {@code /1}s, a generated list), which blocks a
     * family as whole as a {@code /0} does.
     */
    public static boolean coverFamily(java.util.Collection<Cidr> networks, Family family) {
        int bits = family == Family.IPV4 ? 32 : 128;
        List<BigInteger[]> ranges = new ArrayList<>();
        for (Cidr c : networks) {
            if (c.family() == family) {
                byte[] network = family == Family.IPV4 ? IpAddresses.parseIpv4(c.address()) : IpAddresses.parseIpv6(c.address());
                BigInteger start = new BigInteger(1, network);
                ranges.add(new BigInteger[] {start, start.add(BigInteger.ONE.shiftLeft(bits - c.prefix()))});
            }
        }
        ranges.sort((a, b) -> a[0].compareTo(b[0]));
        BigInteger reached = BigInteger.ZERO;
        for (BigInteger[] r : ranges) {
            if (r[0].compareTo(reached) > 0) {
                return false;
            }
            reached = reached.max(r[1]);
        }
        return reached.equals(BigInteger.ONE.shiftLeft(bits));
    }

    /** The /32 or /128 network of one address (4 or 16 bytes). */
    public static Cidr host(byte[] address) {
        Family family = address.length == 4 ? Family.IPV4 : Family.IPV6;
        return new Cidr(IpAddresses.format(address), family == Family.IPV4 ? 32 : 128, family);
    }

    @Override
    public String toString() {
        return address + "/" + prefix;
    }
}
