package dev.netfence.policy;

/** IP family; the wire form ("ipv4", "ipv6") is what outcomes list under {@code families}. */
public enum Family {
    IPV4("ipv4"),
    IPV6("ipv6");

    private final String wire;

    Family(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }
}
