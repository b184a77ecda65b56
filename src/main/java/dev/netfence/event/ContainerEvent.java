package dev.netfence.event;

import java.time.Instant;
import java.util.Objects;

/**
 * A decoded and validated container event v1 ({@code schemas/container-event.v1.json}; docs/contracts.md, "Container event v1"): a scheduler's
 * notice that a container of a task started ({@link #CONTAINER_STARTED}) or stopped
 * ({@link #CONTAINER_STOPPED}) on a node. Instances come from {@link EventDecoder},
 * so every field already satisfies the schema in {@code schemas/container-event.v1.json}.
 *
 * @param runtime podman|docker|containerd|crio, or null when the scheduler did not say
 * @param pid the container's init pid (> 1), or null to ask the runtime
 * @param netns the runtime's path of the container's network namespace (schema-validated: under
 *     {@code /run/netns/}, {@code /var/run/netns/}, Docker's {@code /var/run/docker/netns/} or {@code /proc/PID/ns/net}), or null
 */
public record ContainerEvent(
        int schemaVersion,
        String type,
        String eventId,
        Instant occurredAt,
        String nodeId,
        String taskId,
        String containerId,
        String runtime,
        Integer pid,
        String netns) {

    /** A container started: enforce its task's policy and keep it enforced. */
    public static final String CONTAINER_STARTED = "container.started";
    /** A container stopped: release it. Any type other than these two is counted and skipped. */
    public static final String CONTAINER_STOPPED = "container.stopped";

    /** Whether {@code type} is one this version handles. */
    public static boolean known(String type) {
        return CONTAINER_STARTED.equals(type) || CONTAINER_STOPPED.equals(type);
    }

    /** Whether this event says the container stopped. */
    public boolean stopped() {
        return CONTAINER_STOPPED.equals(type);
    }

    /** An event without {@code netns}. */
    public ContainerEvent(int schemaVersion, String type, String eventId, Instant occurredAt, String nodeId,
            String taskId, String containerId, String runtime, Integer pid) {
        this(schemaVersion, type, eventId, occurredAt, nodeId, taskId, containerId, runtime, pid, null);
    }

    public ContainerEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(occurredAt, "occurredAt");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(taskId, "taskId");
        Objects.requireNonNull(containerId, "containerId");
    }
}
