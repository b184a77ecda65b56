package dev.netfence.rules;

/** Which owned chain a rule belongs to: {@code OUT} (NETFENCE-OUT, hooked from OUTPUT) or {@code IN}. */
public enum Direction {
    OUT,
    IN
}
