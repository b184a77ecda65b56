package dev.netfence.rules;

/** The layer-4 protocol a rule matches; {@code ANY} matches every protocol. */
public enum Transport {
    ANY,
    TCP,
    UDP,
    /** IPv4's ICMP; an IPv4 rule set only. */
    ICMP,
    ICMPV6
}
