package dev.netfence.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Where an option of {@code netfence run} comes from when it is not on the command line: the
 * environment ({@code --max-in-flight} is {@code NETFENCE_MAX_IN_FLIGHT}), then the properties
 * file of {@code --config} ({@code max-in-flight=100}), then the option's own default; so the
 * precedence is flag &gt; environment &gt; file &gt; default. {@code --bootstrap-servers} falls
 * back to {@code KAFKA_BOOTSTRAP_SERVERS} and {@code --node-id} to the host name before their
 * defaults. File keys starting with {@code kafka.} are Kafka client settings ({@link #kafka()});
 * any other key that names no option is refused. Unknown {@code NETFENCE_*} variables are
 * ignored, since the environment is shared with other tools.
 *
 * <p>Picocli converts what this returns with the option's converter; when that fails,
 * {@link #origin} says where the bad value came from ({@code NETFENCE_CONCURRENCY},
 * {@code concurrency in /etc/netfence.properties}), which {@link Main} puts in its one-line error.
 */
final class OptionSources implements IDefaultValueProvider {
    /** The option whose value names the properties file; it is read from flag or environment only. */
    static final String CONFIG = "config";
    private static final String KAFKA_PREFIX = "kafka.";

    private final CommandSpec spec;
    private final Map<String, String> env;
    private final Supplier<String> hostname;
    private final Map<ArgSpec, String> origins = Collections.synchronizedMap(new IdentityHashMap<>());
    private Path loadedFrom;
    private Map<String, String> file;
    private Map<String, String> kafka;

    OptionSources(CommandSpec spec, Map<String, String> env, Supplier<String> hostname) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.env = Map.copyOf(env);
        this.hostname = Objects.requireNonNull(hostname, "hostname");
    }

    /** {@code node-id} becomes {@code NETFENCE_NODE_ID}. */
    static String envName(String key) {
        return "NETFENCE_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** The key of an option in the environment suffix and the file: its long name without dashes. */
    static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^--", "");
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        String key = key(option);
        String fromEnv = env.get(envName(key));
        if (fromEnv != null) {
            return found(option, fromEnv, envName(key));
        }
        if (key.equals(CONFIG)) {
            return null;
        }
        String fromFile = file().get(key);
        if (fromFile != null) {
            return found(option, fromFile, key + " in " + loadedFrom);
        }
        if (key.equals("bootstrap-servers") && env.get("KAFKA_BOOTSTRAP_SERVERS") != null) {
            return found(option, env.get("KAFKA_BOOTSTRAP_SERVERS"), "KAFKA_BOOTSTRAP_SERVERS");
        }
        if (key.equals("node-id")) {
            String name = hostname.get();
            if (name == null) { // never a guess such as localhost: every event would be skipped as another node's
                throw new SourceException(spec.commandLine(), "cannot tell this host's name (HOSTNAME unset, no kernel "
                        + "host name, none from the resolver): pass --node-id");
            }
            return found(option, name, "--node-id (default: the host name)");
        }
        return null;
    }

    /** Where the value picocli got for {@code arg} came from: a variable, a file key, or the flag. */
    String origin(ArgSpec arg) {
        String origin = origins.get(arg);
        return origin != null ? origin : arg instanceof OptionSpec o ? o.longestName() : arg.paramLabel();
    }

    /** The {@code kafka.}-prefixed keys of the config file, prefix removed (empty without a file). */
    synchronized Map<String, String> kafka() {
        file();
        return kafka;
    }

    private String found(OptionSpec option, String value, String origin) {
        origins.put(option, origin);
        return value;
    }

    /** The option keys of the config file (read once, on first use), after checking every key. */
    private synchronized Map<String, String> file() {
        if (file != null) {
            return file;
        }
        Path path = configFile();
        Map<String, String> values = new TreeMap<>();
        Map<String, String> client = new TreeMap<>();
        if (path != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException | IllegalArgumentException e) {
                throw new SourceException(spec.commandLine(), "cannot read config file " + path + ": " + e.getMessage());
            }
            for (String key : new TreeMap<>(p).keySet().stream().map(Object::toString).toList()) {
                String value = p.getProperty(key).trim();
                if (key.startsWith(KAFKA_PREFIX) && key.length() > KAFKA_PREFIX.length()) {
                    client.put(key.substring(KAFKA_PREFIX.length()), value);
                } else if (isOptionKey(key)) {
                    values.put(key, value);
                } else {
                    throw new SourceException(spec.commandLine(), "unknown key in config file " + path + ": " + key);
                }
            }
        }
        loadedFrom = path;
        kafka = Map.copyOf(client);
        file = values;
        return file;
    }

    /** A file key must name an option by its long name; {@code config} and the help options are not keys. */
    private boolean isOptionKey(String key) {
        OptionSpec option = spec.findOption("--" + key);
        return option != null && !key.equals(CONFIG) && key(option).equals(key)
                && !option.usageHelp() && !option.versionHelp();
    }

    /** {@code --config} from the command line (already parsed when defaults are asked), else the environment. */
    private Path configFile() {
        OptionSpec config = spec.findOption(CONFIG);
        Object given = config == null ? null : config.getValue();
        if (given != null) {
            return (Path) given;
        }
        String fromEnv = env.get(envName(CONFIG));
        return fromEnv == null ? null : Path.of(fromEnv);
    }

    /** A {@code kafka.*} key of the config file the Kafka clients refuse ({@code key} null: which one is not known). */
    SourceException badKafkaSetting(String key, String message) {
        return new SourceException(spec.commandLine(), "invalid value for " + (key == null ? "a kafka.* setting"
                : "kafka." + key) + " in " + loadedFrom + ": " + message);
    }

    /** A config source that cannot be used: reported as one line, like a bad value. */
    static final class SourceException extends CommandLine.ParameterException {
        private static final long serialVersionUID = 1L;

        SourceException(CommandLine commandLine, String message) {
            super(commandLine, message);
        }
    }
}
