package dev.netfence.cli;

import dev.netfence.kafka.KafkaClients;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options every ops command shares (picocli mixin): where Kafka is, the topic names, extra
 * client properties for TLS/SASL, the client timeout and {@code --verbose}. It builds the Kafka
 * client configurations and runs a command body with the exit-code contract of docs/contracts.md:
 * {@link Main#INVALID_INPUT} for {@link InvalidInputException} and {@link IllegalArgumentException},
 * {@link Main#RUNTIME_FAILURE} for anything else (e.g. Kafka unreachable); usage errors are picocli's.
 * A failure is one line on stderr; the stack trace only with {@code --verbose}.
 */
public final class OpsOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT,...",
            defaultValue = "${env:KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}",
            description = "Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092).")
    String bootstrapServers;

    @Option(names = "--events-topic", paramLabel = "TOPIC", defaultValue = "sandbox.container-events",
            description = "Container events topic (default: ${DEFAULT-VALUE}).")
    String eventsTopic;

    @Option(names = "--outcomes-topic", paramLabel = "TOPIC", defaultValue = "sandbox.policy-outcomes",
            description = "Outcomes topic (default: ${DEFAULT-VALUE}).")
    String outcomesTopic;

    @Option(names = "--policies-topic", paramLabel = "TOPIC", defaultValue = "sandbox.policies",
            description = "Compacted policies topic (default: ${DEFAULT-VALUE}).")
    String policiesTopic;

    @Option(names = {"-X", "--client-property"}, paramLabel = "KEY=VALUE",
            description = "Extra Kafka client property (TLS, SASL), repeatable: -X security.protocol=SSL.")
    Map<String, String> clientProperties = new LinkedHashMap<>();

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s",
            converter = DurationConverter.class,
            description = "How long to wait for Kafka before giving up (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = {"-v", "--verbose"}, description = "Print stack traces of failures.")
    boolean verbose;

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public String eventsTopic() {
        return eventsTopic;
    }

    public String outcomesTopic() {
        return outcomesTopic;
    }

    public String policiesTopic() {
        return policiesTopic;
    }

    public Duration timeout() {
        return timeout;
    }

    /**
     * A producer of byte arrays with {@link KafkaClients#producerGuarantees()} that gives up after
     * {@link #timeout()}; {@code -X} settings apply, except over the guarantees.
     */
    public Map<String, Object> producerConfig() {
        Map<String, Object> config = common();
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, millis());
        int request = Math.min(millis(), 1000 * 30);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, request);
        config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // the producer requires delivery.timeout.ms >= linger.ms + request.timeout.ms
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Math.max(millis(), request + 5));
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.putAll(clientProperties);
        config.putAll(KafkaClients.producerGuarantees());
        return config;
    }

    /**
     * A group-less consumer of byte arrays (the commands assign partitions) with
     * {@link KafkaClients#consumerGuarantees()}; {@code -X} settings apply, except over the guarantees
     * and over {@code allow.auto.create.topics=false}: a command that looks at a topic never creates it
     * (on a broker that creates topics on use, a mistyped topic reported missing would otherwise exist,
     * empty, at the next try: {@code outcomes} would count nothing failed, {@code replay --only-failed}
     * find no outcome and replay everything, {@code policy list} create the policies topic uncompacted).
     */
    public Map<String, Object> consumerConfig() {
        Map<String, Object> config = common();
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, millis());
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(millis(), 1000 * 30));
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(clientProperties);
        config.putAll(KafkaClients.consumerGuarantees());
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    private Map<String, Object> common() {
        Map<String, Object> config = new HashMap<>();
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(CommonClientConfigs.CLIENT_ID_CONFIG, "netfence-" + spec.name());
        return config;
    }

    private int millis() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    }

    /** Runs {@code body} and maps what it throws to an exit code and one line on stderr. */
    public int execute(Callable<Integer> body) {
        if (!verbose) {
            quietKafkaClientLogs();
        }
        try {
            return body.call();
        } catch (Exception e) {
            Throwable cause = unwrap(e);
            boolean invalid = cause instanceof InvalidInputException || cause instanceof IllegalArgumentException;
            PrintWriter err = spec.commandLine().getErr();
            err.println(commandName() + ": " + (invalid ? "" : "error: ") + describe(cause));
            if (verbose) {
                cause.printStackTrace(err);
            }
            err.flush();
            return invalid ? Main.INVALID_INPUT : Main.RUNTIME_FAILURE;
        }
    }

    /**
     * An ops command reports a broker it cannot reach in its one error line; the clients'
     * per-reconnect warnings would only bury it. {@code --verbose} keeps them.
     */
    private static void quietKafkaClientLogs() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext context) {
            context.getLogger("org.apache.kafka").setLevel(ch.qos.logback.classic.Level.ERROR);
        }
    }

    /** "netfence policy put", whether run under {@code Main} or on its own. */
    private String commandName() {
        String name = spec.qualifiedName(" ");
        return name.startsWith("netfence") ? name : "netfence " + name;
    }

    private String describe(Throwable cause) {
        String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            message = "Kafka at " + bootstrapServers + " did not answer within " + timeout.toSeconds() + "s ("
                    + message + ")";
        } else if (cause instanceof org.apache.kafka.common.KafkaException) {
            message = "Kafka at " + bootstrapServers + ": " + message;
            Throwable root = cause;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            if (root != cause && root.getMessage() != null) {
                message += ": " + root.getMessage();
            }
        }
        return message.replaceAll("\\s*\\R\\s*", " ");
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
