package dev.netfence.rules;

/** The layer-4 protocol a rule matches; {@code ANY} matches every protocol. */
public enum Transport {
    ANY,
    TCP,
    UDP,
    ICMPV6
}
