package dev.netfence.app;

import dev.netfence.enforce.OnFailure;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Builds a {@link RunConfig} from the three sources of DESIGN.md, highest first: command-line
 * flags ({@code --node-id}), the environment ({@code NETFENCE_NODE_ID}), the properties file of
 * {@code --config} ({@code node-id=...}); then the defaults. {@code kafka.}-prefixed file keys
 * pass through to the Kafka clients. Any other unknown file key, and any bad value from any
 * source, fails with an {@link IllegalArgumentException} whose one-line message names the key
 * and where it came from. Unknown {@code NETFENCE_*} variables are ignored, since the
 * environment is shared with other tools. {@code --bootstrap-servers} falls back to
 * {@code KAFKA_BOOTSTRAP_SERVERS} before its default; {@code --node-id} to the host name.
 */
public final class RunConfigLoader {
    /** Every option name, as flag (with {@code --}), file key, and env suffix. */
    public static final Set<String> KEYS = Set.of("bootstrap-servers", "node-id", "assignment", "events-topic",
            "outcomes-topic", "policies-topic", "policy-dir", "exactly-once", "concurrency", "max-in-flight",
            "event-deadline", "on-failure", "dry-run", "iptables-backend", "http-port", "shutdown-timeout", "config",
            "log-format", "cgroup-check", "policy-wait");
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,253}");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Pattern SERVERS = Pattern.compile("[^,\\s]+:\\d{1,5}(,[^,\\s]+:\\d{1,5})*");

    private final Map<String, String> env;
    private final Supplier<String> hostname;

    public RunConfigLoader(Map<String, String> env, Supplier<String> hostname) {
        this.env = Map.copyOf(env);
        this.hostname = hostname;
    }

    /** A value and a description of where it came from, for error messages. */
    private record Source(String value, String origin) {}

    /** @param flags option name (without {@code --}) to value, for the flags given on the command line */
    public RunConfig load(Map<String, String> flags) {
        Map<String, String> fileValues = new TreeMap<>();
        Map<String, String> kafka = new TreeMap<>();
        Optional<Source> configSource = fromFlagOrEnv(flags, "config");
        Path configFile = configSource.map(s -> Path.of(s.value())).orElse(null);
        if (configFile != null) {
            readFile(configFile, fileValues, kafka);
        }
        Lookup in = new Lookup(flags, fileValues, configFile);

        String servers = in.get("bootstrap-servers")
                .or(() -> Optional.ofNullable(env.get("KAFKA_BOOTSTRAP_SERVERS"))
                        .map(v -> new Source(v, "KAFKA_BOOTSTRAP_SERVERS")))
                .map(s -> check(s, v -> matches(SERVERS, v, "must be host:port[,host:port...]")))
                .orElse("127.0.0.1:9092");
        String nodeId = in.get("node-id").map(s -> check(s, RunConfigLoader::nodeId))
                .orElseGet(() -> check(new Source(hostname.get(), "--node-id (default: the host name)"),
                        RunConfigLoader::nodeId));
        Path policyDir = in.get("policy-dir").map(s -> check(s, v -> {
            Path p = Path.of(v);
            if (!Files.isDirectory(p)) {
                throw new IllegalArgumentException("is not a directory: " + v);
            }
            return p;
        })).orElse(null);

        return new RunConfig(
                servers,
                nodeId,
                in.parse("assignment", Assignment.GROUP, v -> oneOf(v, Assignment::fromWire, "group or node-partition")),
                in.parse("events-topic", "sandbox.container-events", v -> matches(TOPIC, v, "must be a Kafka topic name")),
                in.parse("outcomes-topic", "sandbox.policy-outcomes", v -> matches(TOPIC, v, "must be a Kafka topic name")),
                in.parse("policies-topic", "sandbox.policies", v -> matches(TOPIC, v, "must be a Kafka topic name")),
                policyDir,
                in.parse("exactly-once", false, RunConfigLoader::bool),
                in.parse("concurrency", 8, v -> integer(v, 1, 1024)),
                in.parse("max-in-flight", 1000, v -> integer(v, 1, 100_000)),
                in.parse("event-deadline", Duration.ofSeconds(30), Durations::parse),
                in.parse("on-failure", OnFailure.QUARANTINE, v -> oneOf(v, OnFailure::parse, "quarantine or leave")),
                in.parse("dry-run", false, RunConfigLoader::bool),
                in.parse("iptables-backend", BackendChoice.AUTO, v -> oneOf(v, BackendChoice::parse, "auto, nft or legacy")),
                in.parse("http-port", 9464, v -> integer(v, 0, 65535)),
                in.parse("shutdown-timeout", Duration.ofSeconds(30), Durations::parse),
                configFile,
                in.parse("log-format", RunConfig.LogFormat.TEXT, v -> oneOf(v,
                        s -> RunConfig.LogFormat.valueOf(s.toUpperCase(Locale.ROOT)), "text or json")),
                in.parse("cgroup-check", true, RunConfigLoader::bool),
                in.parse("policy-wait", dev.netfence.policy.store.PolicyStore.DEFAULT_WAIT, Durations::parse),
                kafka);
    }

    private Optional<Source> fromFlagOrEnv(Map<String, String> flags, String key) {
        if (flags.containsKey(key)) {
            return Optional.of(new Source(flags.get(key), "--" + key));
        }
        String envName = envName(key);
        return Optional.ofNullable(env.get(envName)).map(v -> new Source(v, envName));
    }

    /** {@code node-id} becomes {@code NETFENCE_NODE_ID}. */
    public static String envName(String key) {
        return "NETFENCE_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    private static void readFile(Path file, Map<String, String> values, Map<String, String> kafka) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot read config file " + file + ": " + e.getMessage());
        }
        for (String key : new TreeMap<>(Map.copyOf(p)).keySet().stream().map(Object::toString).toList()) {
            String value = p.getProperty(key).trim();
            if (key.startsWith("kafka.") && key.length() > "kafka.".length()) {
                kafka.put(key.substring("kafka.".length()), value);
            } else if (KEYS.contains(key) && !key.equals("config")) {
                values.put(key, value);
            } else {
                throw new IllegalArgumentException("unknown key in config file " + file + ": " + key);
            }
        }
    }

    /** Resolves one option through flag, environment and file. */
    private final class Lookup {
        private final Map<String, String> flags;
        private final Map<String, String> file;
        private final Path fileName;

        Lookup(Map<String, String> flags, Map<String, String> file, Path fileName) {
            this.flags = flags;
            this.file = file;
            this.fileName = fileName;
        }

        Optional<Source> get(String key) {
            return fromFlagOrEnv(flags, key)
                    .or(() -> Optional.ofNullable(file.get(key)).map(v -> new Source(v, key + " in " + fileName)));
        }

        <T> T parse(String key, T fallback, Function<String, T> parser) {
            return get(key).map(s -> check(s, parser)).orElse(fallback);
        }
    }

    private static <T> T check(Source s, Function<String, T> parser) {
        try {
            return parser.apply(s.value() == null ? "" : s.value().trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid value for " + s.origin() + ": " + e.getMessage());
        }
    }

    private static String nodeId(String v) {
        if (!v.equals("*") && !NODE_ID.matcher(v).matches()) {
            throw new IllegalArgumentException("must be * or match [A-Za-z0-9._-]{1,253}, was: " + v);
        }
        return v;
    }

    private static String matches(Pattern p, String v, String rule) {
        if (!p.matcher(v).matches()) {
            throw new IllegalArgumentException(rule + ", was: " + v);
        }
        return v;
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("must be true or false, was: " + v);
        };
    }

    private static int integer(String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("must be an integer from " + min + " to " + max + ", was: " + v);
    }

    private static <T> T oneOf(String v, Function<String, T> parser, String allowed) {
        try {
            return parser.apply(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be " + allowed + ", was: " + v);
        }
    }
}
