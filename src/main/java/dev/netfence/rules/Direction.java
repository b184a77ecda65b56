package dev.netfence.rules;

/**
 * Which owned chain a rule belongs to: {@code OUT} (NETFENCE-OUT, hooked from OUTPUT: what the
 * namespace sends), {@code IN} (NETFENCE-IN, from INPUT: what it receives) or {@code FORWARD}
 * (NETFENCE-FWD, from FORWARD: what it routes between its interfaces, which neither of the
 * other two hooks sees).
 */
public enum Direction {
    OUT,
    IN,
    FORWARD
}
