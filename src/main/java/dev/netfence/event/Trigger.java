package dev.netfence.event;

/**
 * Why an outcome was produced, the outcome's {@code trigger} field: a container event
 * ({@code start}, {@code stop}, or an operator's {@code replay} of either), or a correction the
 * reconciler made on its own to a container it enforces ({@code policy-update}: the task's
 * policy changed or went away; {@code drift}: the rules read back differed from the plan, or the
 * container was found gone; {@code re-resolve}: a hostname endpoint resolved to other addresses).
 */
public enum Trigger {
    START("start"),
    STOP("stop"),
    REPLAY("replay"),
    POLICY_UPDATE("policy-update"),
    DRIFT("drift"),
    RE_RESOLVE("re-resolve");

    private final String wire;

    Trigger(String wire) {
        this.wire = wire;
    }

    /** The string written to outcomes and metric tags. */
    public String wire() {
        return wire;
    }

    /** The trigger whose wire form is {@code text}; {@link IllegalArgumentException} for any other. */
    public static Trigger fromWire(String text) {
        for (Trigger t : values()) {
            if (t.wire.equals(text)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown trigger: " + text);
    }
}
