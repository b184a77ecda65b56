package dev.netfence.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the {@link EventPipeline} needs to know, validated: where to read and write, who
 * this instance is, and its concurrency, deadline and shutdown bounds. {@code kafka} holds
 * client properties (at least {@code bootstrap.servers}) applied to every client before the
 * pipeline's own mandatory settings. Build with {@link #defaults(String, String)} and the
 * {@code with*} methods.
 *
 * @param instance the {@code enforcer.instance} of outcomes and the {@code netfence.instance} DLQ header
 * @param pollTimeout how long one poll waits; also bounds how quickly completions are committed
 * @param commitInterval minimum time between two offset commits in at-least-once mode
 */
public record PipelineSettings(
        Map<String, Object> kafka,
        String nodeId,
        Assignment assignment,
        String eventsTopic,
        String outcomesTopic,
        boolean exactlyOnce,
        int concurrency,
        int maxInFlight,
        Duration eventDeadline,
        Duration policyWait,
        Duration shutdownTimeout,
        String instance,
        String version,
        Duration pollTimeout,
        Duration commitInterval) {

    public static final String DEFAULT_EVENTS_TOPIC = "sandbox.container-events";
    public static final String DEFAULT_OUTCOMES_TOPIC = "sandbox.policy-outcomes";

    public PipelineSettings {
        kafka = Map.copyOf(Objects.requireNonNull(kafka, "kafka"));
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
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(version, "version");
    }

    /** DESIGN.md defaults: group assignment, default topics, 8 workers, 1000 in flight, 30 s deadline. */
    public static PipelineSettings defaults(String bootstrapServers, String nodeId) {
        return new PipelineSettings(Map.of("bootstrap.servers", bootstrapServers), nodeId, Assignment.GROUP,
                DEFAULT_EVENTS_TOPIC, DEFAULT_OUTCOMES_TOPIC, false, 8, 1000, Duration.ofSeconds(30),
                Duration.ofSeconds(5), Duration.ofSeconds(30), nodeId + "/" + ProcessHandle.current().pid(), "0.1.0",
                Duration.ofMillis(100), Duration.ofMillis(200));
    }

    /** The dead-letter topic: the events topic with {@code .dlq} appended. */
    public String dlqTopic() {
        return eventsTopic + ".dlq";
    }

    public PipelineSettings withKafka(Map<String, Object> k) {
        return new PipelineSettings(k, nodeId, assignment, eventsTopic, outcomesTopic, exactlyOnce, concurrency,
                maxInFlight, eventDeadline, policyWait, shutdownTimeout, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withAssignment(Assignment a) {
        return new PipelineSettings(kafka, nodeId, a, eventsTopic, outcomesTopic, exactlyOnce, concurrency,
                maxInFlight, eventDeadline, policyWait, shutdownTimeout, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withTopics(String events, String outcomes) {
        return new PipelineSettings(kafka, nodeId, assignment, events, outcomes, exactlyOnce, concurrency,
                maxInFlight, eventDeadline, policyWait, shutdownTimeout, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withExactlyOnce(boolean on) {
        return new PipelineSettings(kafka, nodeId, assignment, eventsTopic, outcomesTopic, on, concurrency,
                maxInFlight, eventDeadline, policyWait, shutdownTimeout, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withConcurrency(int workers, int inFlight) {
        return new PipelineSettings(kafka, nodeId, assignment, eventsTopic, outcomesTopic, exactlyOnce, workers,
                inFlight, eventDeadline, policyWait, shutdownTimeout, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withTimeouts(Duration deadline, Duration wait, Duration shutdown) {
        return new PipelineSettings(kafka, nodeId, assignment, eventsTopic, outcomesTopic, exactlyOnce, concurrency,
                maxInFlight, deadline, wait, shutdown, instance, version, pollTimeout, commitInterval);
    }

    public PipelineSettings withInstance(String inst, String ver) {
        return new PipelineSettings(kafka, nodeId, assignment, eventsTopic, outcomesTopic, exactlyOnce, concurrency,
                maxInFlight, eventDeadline, policyWait, shutdownTimeout, inst, ver, pollTimeout, commitInterval);
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
