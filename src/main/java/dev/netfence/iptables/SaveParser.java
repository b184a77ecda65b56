package dev.netfence.iptables;

/** Parses iptables-save output (stub). */
public final class SaveParser {
    public FilterState parse(String iptablesSaveOutput) {
        throw new UnsupportedOperationException("not yet");
    }
}
