package dev.netfence.cli;

import dev.netfence.app.Durations;
import dev.netfence.enforce.OnFailure;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import dev.netfence.ops.LogFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The converters of the {@code netfence run} options. Each trims its value and refuses a bad one
 * with the reason only ({@code must be an integer from 1 to 1024, was: x}); {@link Main} adds
 * where the value came from ({@code invalid value for NETFENCE_CONCURRENCY: ...}). The messages
 * are part of the command-line contract and pinned by {@code RunOptionsTest}: keep them exact.
 */
final class RunConverters {
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,253}");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Pattern SERVERS = Pattern.compile("[^,\\s]+:\\d{1,5}(,[^,\\s]+:\\d{1,5})*");

    private RunConverters() {}

    /** Applies {@code parser} to the trimmed value; an {@link IllegalArgumentException} is the refusal. */
    private abstract static class Trimmed<T> implements ITypeConverter<T> {
        private final Function<String, T> parser;

        Trimmed(Function<String, T> parser) {
            this.parser = parser;
        }

        @Override
        public final T convert(String value) {
            try {
                return parser.apply(value == null ? "" : value.trim());
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** A value one of a fixed set of words accepts. */
    private abstract static class OneOf<T> extends Trimmed<T> {
        OneOf(Function<String, T> parser, String allowed) {
            super(v -> {
                try {
                    return parser.apply(v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("must be " + allowed + ", was: " + v);
                }
            });
        }
    }

    /** An integer in a closed range. */
    private abstract static class IntegerIn extends Trimmed<Integer> {
        IntegerIn(int min, int max) {
            super(v -> {
                try {
                    int n = Integer.parseInt(v);
                    if (n >= min && n <= max) {
                        return n;
                    }
                } catch (NumberFormatException ignored) {
                    // reported below
                }
                throw new IllegalArgumentException("must be an integer from " + min + " to " + max + ", was: " + v);
            });
        }
    }

    private static String matching(Pattern pattern, String rule, String v) {
        if (!pattern.matcher(v).matches()) {
            throw new IllegalArgumentException(rule + ", was: " + v);
        }
        return v;
    }

    /** {@code host:port[,host:port...]}. */
    static final class Servers extends Trimmed<String> {
        Servers() {
            super(v -> matching(SERVERS, "must be host:port[,host:port...]", v));
        }
    }

    /** {@code *} or a node id of the event schema. */
    static final class NodeId extends Trimmed<String> {
        NodeId() {
            super(v -> v.equals("*") ? v : matching(NODE_ID, "must be * or match [A-Za-z0-9._-]{1,253}", v));
        }
    }

    /** A legal Kafka topic name. */
    static final class Topic extends Trimmed<String> {
        Topic() {
            super(v -> matching(TOPIC, "must be a Kafka topic name", v));
        }
    }

    /** {@code NET_ADMIN}, {@code NET_RAW} or both, comma-separated (empty: none), as {@code CAP_} names joined by commas. */
    static final class RefusedCapabilities extends Trimmed<String> {
        RefusedCapabilities() {
            super(v -> String.join(",", new java.util.TreeSet<>(dev.netfence.netns.Capabilities.parseRefused(v))));
        }
    }

    /** A static group membership id ({@code group.instance.id}), or {@code none}. */
    static final class InstanceId extends Trimmed<String> {
        InstanceId() {
            super(v -> matching(TOPIC, "must be none or match [A-Za-z0-9._-]{1,249}", v));
        }
    }

    /**
     * Trusted resolvers, {@code IP[,IP...]} (empty: none): address literals only, at most 16, the
     * messages of a policy's {@code dnsServers}; kept as the canonical comma-joined text.
     */
    static final class DnsServers extends Trimmed<String> {
        DnsServers() {
            super(v -> String.join(",", parseDnsServers(v).stream().map(dev.netfence.policy.IpAddresses::format).toList()));
        }
    }

    /** {@code --http-address}: one IPv4 or IPv6 literal of this node, never a name (no DNS at start-up). */
    static final class HttpAddress extends Trimmed<java.net.InetAddress> {
        HttpAddress() {
            super(v -> {
                byte[] bytes = dev.netfence.policy.IpAddresses.parseIpv4(v);
                if (bytes == null) {
                    bytes = dev.netfence.policy.IpAddresses.parseIpv6(v);
                }
                if (bytes == null) {
                    throw new IllegalArgumentException("must be an IPv4 or IPv6 address literal, was: " + v);
                }
                try {
                    return java.net.InetAddress.getByAddress(bytes);
                } catch (java.net.UnknownHostException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
            });
        }
    }

    /** The addresses of a {@code --dns-servers} value; IllegalArgumentException with the reason. */
    static java.util.List<java.net.InetAddress> parseDnsServers(String v) {
        var parsed = dev.netfence.policy.PolicyValues.dnsServerList(v);
        if (!parsed.ok()) {
            throw new IllegalArgumentException(parsed.error());
        }
        return parsed.value();
    }

    /** An existing directory. */
    static final class Directory extends Trimmed<Path> {
        Directory() {
            super(v -> {
                Path p = Path.of(v);
                if (!Files.isDirectory(p)) {
                    throw new IllegalArgumentException("is not a directory: " + v);
                }
                return p;
            });
        }
    }

    /**
     * {@code true} or {@code false}, any case. The switches declare {@code type = String.class} so
     * that picocli reads a following word as their value ({@code --dry-run false}) and hands a bad
     * one here, instead of its boolean rule that leaves an unknown word on the command line.
     */
    static final class Switch extends Trimmed<Boolean> {
        Switch() {
            super(v -> switch (v.toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("must be true or false, was: " + v);
            });
        }
    }

    /** A positive duration ({@link Durations}). */
    static final class PositiveDuration extends Trimmed<Duration> {
        PositiveDuration() {
            super(v -> {
                Duration d;
                try {
                    d = Durations.parse(v);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("must be a duration like 500ms, 30s, 2m, 1h or PT30S, was: " + v);
                }
                if (d.isZero() || d.isNegative()) {
                    throw new IllegalArgumentException("must be a positive duration, was: " + v);
                }
                return d;
            });
        }
    }

    /** The resync interval: a positive duration of at least 100 ms. */
    static final class ResyncInterval extends Trimmed<Duration> {
        ResyncInterval() {
            super(v -> {
                Duration d = new PositiveDuration().convert(v);
                if (d.toMillis() < 100) {
                    throw new IllegalArgumentException("must be at least 100ms, was: " + v);
                }
                return d;
            });
        }
    }

    /** The OCI hook's socket: an absolute path, or {@code off} (null: no hook server). */
    static final class HookSocket extends Trimmed<Path> {
        HookSocket() {
            super(v -> {
                if (v.equals("off")) {
                    return null;
                }
                if (!v.startsWith("/")) {
                    throw new IllegalArgumentException("must be an absolute path or off, was: " + v);
                }
                return Path.of(v);
            });
        }
    }

    static final class Concurrency extends IntegerIn {
        Concurrency() {
            super(1, 1024);
        }
    }

    static final class MaxInFlight extends IntegerIn {
        MaxInFlight() {
            super(1, 100_000);
        }
    }

    static final class Port extends IntegerIn {
        Port() {
            super(0, 65535);
        }
    }

    static final class AssignmentWord extends OneOf<Assignment> {
        AssignmentWord() {
            super(Assignment::fromWire, "group or node-partition");
        }
    }

    static final class OnFailureWord extends OneOf<OnFailure> {
        OnFailureWord() {
            super(OnFailure::parse, "quarantine or leave");
        }
    }

    /** {@code --backend}. */
    static final class BackendName extends OneOf<BackendChoice> {
        BackendName() {
            super(BackendChoice::parse, "auto, nft, iptables, iptables-nft or iptables-legacy");
        }
    }

    /** The old {@code --iptables-backend}: every value is an iptables variant. */
    static final class BackendWord extends OneOf<BackendChoice> {
        BackendWord() {
            super(BackendChoice::parseIptablesAlias, "auto, nft or legacy");
        }
    }

    static final class HostGuardWord extends OneOf<HostGuardMode> {
        HostGuardWord() {
            super(HostGuardMode::parse, "auto, off or required");
        }
    }

    static final class LogFormatWord extends OneOf<LogFormat> {
        LogFormatWord() {
            super(LogFormat::parse, "text or json");
        }
    }
}
