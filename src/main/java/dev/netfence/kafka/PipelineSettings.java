package dev.netfence.kafka;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the {@link EventPipeline} needs to know, validated: where to read and write, who
 * this instance is, and its concurrency, deadline and shutdown bounds. {@code kafka} holds
 * client properties (at least {@code bootstrap.servers}) applied to every client before the
 * pipeline's own mandatory settings. Built resilience4j style:
 * {@code PipelineSettings.custom().bootstrapServers(b).nodeId(n).concurrency(4).build()};
 * {@link #from(PipelineSettings)} derives a changed copy. {@link Builder#build()} checks every
 * value and names the field and the value of a bad one in an {@link IllegalArgumentException}.
 */
public final class PipelineSettings {
    public static final String DEFAULT_EVENTS_TOPIC = "sandbox.container-events";
    public static final String DEFAULT_OUTCOMES_TOPIC = "sandbox.policy-outcomes";
    /** Readiness turns false when a record has waited this long without being acknowledged. */
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(2);

    private final Map<String, Object> kafka;
    private final String nodeId;
    private final Assignment assignment;
    private final String eventsTopic;
    private final String outcomesTopic;
    private final boolean exactlyOnce;
    private final int concurrency;
    private final int maxInFlight;
    private final Duration eventDeadline;
    private final Duration policyWait;
    private final Duration shutdownTimeout;
    private final String instance;
    private final String version;
    private final Duration pollTimeout;
    private final Duration commitInterval;
    private final Duration stallThreshold;
    private final Duration stallTimeout;

    private PipelineSettings(Builder b) {
        this.kafka = Map.copyOf(b.kafka);
        this.nodeId = b.nodeId;
        this.assignment = b.assignment;
        this.eventsTopic = b.eventsTopic;
        this.outcomesTopic = b.outcomesTopic;
        this.exactlyOnce = b.exactlyOnce;
        this.concurrency = b.concurrency;
        this.maxInFlight = b.maxInFlight;
        this.eventDeadline = b.eventDeadline;
        this.policyWait = b.policyWait;
        this.shutdownTimeout = b.shutdownTimeout;
        this.instance = b.instance != null ? b.instance : b.nodeId + "/" + ProcessHandle.current().pid();
        this.version = b.version;
        this.pollTimeout = b.pollTimeout;
        this.commitInterval = b.commitInterval;
        this.stallThreshold = atLeastTwiceMaxBlock(b.stallThreshold, b.kafka.get("max.block.ms"));
        this.stallTimeout = b.stallTimeout;
    }

    /** A single blocking call may take {@code max.block.ms}: a threshold under twice that would call a waiting loop stalled. */
    private static Duration atLeastTwiceMaxBlock(Duration threshold, Object maxBlockMs) {
        if (maxBlockMs == null) {
            return threshold;
        }
        try {
            Duration twice = Duration.ofMillis(Long.parseLong(maxBlockMs.toString().strip())).multipliedBy(2);
            return twice.compareTo(threshold) > 0 ? twice : threshold;
        } catch (NumberFormatException | ArithmeticException e) {
            return threshold; // the client refuses such a value itself, with its own message
        }
    }

    /** A builder with the defaults: group assignment, default topics, 8 workers, 1000 in flight, 30 s deadline. */
    public static Builder custom() {
        return new Builder();
    }

    /** A builder starting from {@code settings}' values. */
    public static Builder from(PipelineSettings settings) {
        return new Builder(settings);
    }

    /** Client properties applied to every Kafka client (at least {@code bootstrap.servers}). */
    public Map<String, Object> kafka() {
        return kafka;
    }

    public String nodeId() {
        return nodeId;
    }

    public Assignment assignment() {
        return assignment;
    }

    public String eventsTopic() {
        return eventsTopic;
    }

    public String outcomesTopic() {
        return outcomesTopic;
    }

    /** The dead-letter topic: the events topic with {@code .dlq} appended. */
    public String dlqTopic() {
        return eventsTopic + ".dlq";
    }

    public boolean exactlyOnce() {
        return exactlyOnce;
    }

    public int concurrency() {
        return concurrency;
    }

    public int maxInFlight() {
        return maxInFlight;
    }

    public Duration eventDeadline() {
        return eventDeadline;
    }

    public Duration policyWait() {
        return policyWait;
    }

    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    /** The {@code enforcer.instance} of outcomes and the {@code netfence.instance} DLQ header. */
    public String instance() {
        return instance;
    }

    public String version() {
        return version;
    }

    /** How long one poll waits; also bounds how quickly completions are committed. */
    public Duration pollTimeout() {
        return pollTimeout;
    }

    /** Minimum time between two offset commits in at-least-once mode. */
    public Duration commitInterval() {
        return commitInterval;
    }

    /**
     * How long the consumer loop may go without a round before {@code /healthz} says it stalled;
     * above the longest a healthy round blocks between two beats of its heartbeat (a send or a
     * transaction commit waits up to the producer's {@code max.block.ms}, 60 s, while the broker is
     * away; each of a transaction's calls beats first): at least twice {@code max.block.ms}.
     */
    public Duration stallThreshold() {
        return stallThreshold;
    }

    /** Readiness turns false when the oldest record read but not committed is older than this. */
    public Duration stallTimeout() {
        return stallTimeout;
    }

    @Override
    public String toString() {
        return "PipelineSettings[nodeId=" + nodeId + ", assignment=" + assignment + ", eventsTopic=" + eventsTopic
                + ", outcomesTopic=" + outcomesTopic + ", exactlyOnce=" + exactlyOnce + ", concurrency=" + concurrency
                + ", maxInFlight=" + maxInFlight + ", eventDeadline=" + eventDeadline + ", policyWait=" + policyWait
                + ", shutdownTimeout=" + shutdownTimeout + ", stallTimeout=" + stallTimeout + ", instance=" + instance + ", version=" + version + "]";
    }

    /** Collects settings; {@link #build()} validates them all. Not thread-safe. */
    public static final class Builder {
        private final Map<String, Object> kafka = new HashMap<>();
        private String nodeId;
        private Assignment assignment = Assignment.GROUP;
        private String eventsTopic = DEFAULT_EVENTS_TOPIC;
        private String outcomesTopic = DEFAULT_OUTCOMES_TOPIC;
        private boolean exactlyOnce;
        private int concurrency = 8;
        private int maxInFlight = 1000;
        private Duration eventDeadline = Duration.ofSeconds(30);
        private Duration policyWait = Duration.ofSeconds(5);
        private Duration shutdownTimeout = ShutdownBudget.DEFAULT_DRAIN;
        private String instance;
        private String version = "0.1.0";
        private Duration pollTimeout = Duration.ofMillis(100);
        private Duration commitInterval = Duration.ofMillis(200);
        private Duration stallThreshold = Duration.ofMinutes(2);
        private Duration stallTimeout = DEFAULT_STALL_TIMEOUT;

        private Builder() {
        }

        private Builder(PipelineSettings s) {
            kafka.putAll(s.kafka);
            nodeId = s.nodeId;
            assignment = s.assignment;
            eventsTopic = s.eventsTopic;
            outcomesTopic = s.outcomesTopic;
            exactlyOnce = s.exactlyOnce;
            concurrency = s.concurrency;
            maxInFlight = s.maxInFlight;
            eventDeadline = s.eventDeadline;
            policyWait = s.policyWait;
            shutdownTimeout = s.shutdownTimeout;
            instance = s.instance;
            version = s.version;
            pollTimeout = s.pollTimeout;
            commitInterval = s.commitInterval;
            stallThreshold = s.stallThreshold;
            stallTimeout = s.stallTimeout;
        }

        /** Replaces the client properties (they must include {@code bootstrap.servers}). */
        public Builder kafka(Map<String, Object> value) {
            kafka.clear();
            kafka.putAll(Objects.requireNonNull(value, "kafka"));
            return this;
        }

        /** Sets {@code bootstrap.servers} in the client properties. */
        public Builder bootstrapServers(String value) {
            kafka.put("bootstrap.servers", Objects.requireNonNull(value, "bootstrapServers"));
            return this;
        }

        public Builder nodeId(String value) {
            this.nodeId = value;
            return this;
        }

        public Builder assignment(Assignment value) {
            this.assignment = value;
            return this;
        }

        public Builder eventsTopic(String value) {
            this.eventsTopic = value;
            return this;
        }

        public Builder outcomesTopic(String value) {
            this.outcomesTopic = value;
            return this;
        }

        public Builder exactlyOnce(boolean value) {
            this.exactlyOnce = value;
            return this;
        }

        public Builder concurrency(int value) {
            this.concurrency = value;
            return this;
        }

        public Builder maxInFlight(int value) {
            this.maxInFlight = value;
            return this;
        }

        public Builder eventDeadline(Duration value) {
            this.eventDeadline = value;
            return this;
        }

        public Builder policyWait(Duration value) {
            this.policyWait = value;
            return this;
        }

        public Builder shutdownTimeout(Duration value) {
            this.shutdownTimeout = value;
            return this;
        }

        /** Defaults to {@code <nodeId>/<pid>}. */
        public Builder instance(String value) {
            this.instance = value;
            return this;
        }

        public Builder version(String value) {
            this.version = value;
            return this;
        }

        public Builder pollTimeout(Duration value) {
            this.pollTimeout = value;
            return this;
        }

        public Builder commitInterval(Duration value) {
            this.commitInterval = value;
            return this;
        }

        public Builder stallThreshold(Duration value) {
            this.stallThreshold = value;
            return this;
        }

        public Builder stallTimeout(Duration value) {
            this.stallTimeout = value;
            return this;
        }

        public PipelineSettings build() {
            if (!kafka.containsKey("bootstrap.servers")) {
                throw new IllegalArgumentException("kafka settings must contain bootstrap.servers");
            }
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(assignment, "assignment");
            requireTopic("eventsTopic", eventsTopic);
            requireTopic("outcomesTopic", outcomesTopic);
            if (concurrency < 1 || concurrency > 1024) {
                throw new IllegalArgumentException("concurrency must be between 1 and 1024, was " + concurrency);
            }
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + maxInFlight);
            }
            requirePositive("eventDeadline", eventDeadline);
            requirePositive("policyWait", policyWait);
            requirePositive("shutdownTimeout", shutdownTimeout);
            requirePositive("pollTimeout", pollTimeout);
            requirePositive("commitInterval", commitInterval);
            requirePositive("stallThreshold", stallThreshold);
            requirePositive("stallTimeout", stallTimeout);
            Objects.requireNonNull(version, "version");
            return new PipelineSettings(this);
        }

        private static void requireTopic(String name, String topic) {
            if (topic == null || !topic.matches("[A-Za-z0-9._-]{1,249}")) {
                throw new IllegalArgumentException(name + " must be a valid Kafka topic name, was: " + topic);
            }
        }

        private static void requirePositive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be a positive duration, was: " + d);
            }
        }
    }
}
