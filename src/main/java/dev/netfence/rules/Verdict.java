package dev.netfence.rules;

/**
 * What a matching packet gets. Outbound denials REJECT (the sandboxed program fails fast with
 * "connection refused" instead of hanging); inbound denials DROP (nothing is told to a prober).
 */
public enum Verdict {
    ACCEPT,
    REJECT,
    DROP
}
