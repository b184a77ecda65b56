package dev.netfence.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.OutcomeCodec;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code netfence publish}: publishes one container event v1 ({@code container.started}, or with
 * {@code --stopped} a {@code container.stopped}) the way a scheduler would, keyed by node id,
 * with a random UUID event id and the current time as
 * {@code occurredAt}. The event is checked with the same decoder and JSON Schema the service
 * uses before it is sent, so an invalid id is exit 1, not a DLQ record.
 */
@Command(name = "publish", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Publish a container.started (or, --stopped, container.stopped) event, as a scheduler does.",
        footerHeading = "%nExamples:%n",
        footer = {
                "  netfence publish --task task-42 --container 3f9a0c --pid 12345",
                "  netfence publish --task task-42 --container 3f9a0c --node worker-7 --runtime podman",
                "  netfence publish --task task-42 --container \"$(podman inspect -f '{{.Id}}' c1)\" \\",
                "      --pid \"$(podman inspect -f '{{.State.Pid}}' c1)\" \\",
                "      --netns \"$(podman inspect -f '{{.NetworkSettings.SandboxKey}}' c1)\"",
                "  netfence publish --stopped --task task-42 --container 3f9a0c",
                "",
                "Exit codes: 0 published, 1 invalid input, 2 usage, 3 Kafka failure."})
public final class PublishCommand implements Callable<Integer> {

    @Mixin
    OpsOptions ops;

    @Spec
    CommandSpec spec;

    @Option(names = "--task", required = true, paramLabel = "TASK", description = "Task id whose policy applies.")
    String task;

    @Option(names = "--container", required = true, paramLabel = "ID", description = "Container id.")
    String container;

    @Option(names = "--pid", paramLabel = "PID", description = "Container init pid (> 1); without it netfence asks the runtime.")
    Integer pid;

    @Option(names = "--node", paramLabel = "NODE", description = "Node id the container runs on (default: this host's name).")
    String node;

    @Option(names = "--runtime", paramLabel = "RUNTIME", description = "podman, docker, containerd or crio.")
    String runtime;

    @Option(names = "--netns", paramLabel = "PATH", description = "The container's network namespace as the runtime "
            + "names it (podman: NetworkSettings.SandboxKey): /run/netns/NAME, /var/run/netns/NAME, Docker's /run/docker/netns/NAME or /var/run/docker/netns/NAME, or /proc/PID/ns/net; "
            + "netfence then enforces that namespace and refuses a pid that is not in it (/proc/PID/ns/net proves less: it "
            + "follows that process, so the namespace is checked as without a path; prefer the runtime's bind path).")
    String netns;
    @Option(names = "--stopped", description = "Publish container.stopped (the container is gone: netfence releases it).")
    boolean stopped;

    private final Clock clock;

    public PublishCommand() {
        this(Clock.systemUTC());
    }

    PublishCommand(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Integer call() {
        return ops.execute(() -> {
            byte[] value = eventJson();
            DecodeResult decoded = new EventDecoder().decode(value);
            if (!(decoded instanceof DecodeResult.Decoded ok)) {
                throw new InvalidInputException("the event would be refused: " + describe(decoded));
            }
            ContainerEvent event = ok.event();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(ops.producerConfig())) {
                RecordMetadata at = producer.send(new ProducerRecord<>(ops.eventsTopic(),
                        event.nodeId().getBytes(StandardCharsets.UTF_8), value)).get();
                PrintWriter out = spec.commandLine().getOut();
                out.println(new String(value, StandardCharsets.UTF_8));
                out.println("published event " + event.eventId() + " for container " + event.containerId()
                        + " on node " + event.nodeId() + " to " + at.topic() + "-" + at.partition() + "@" + at.offset());
                out.flush();
            }
            return Main.OK;
        });
    }

    byte[] eventJson() throws Exception {
        ObjectNode event = new ObjectMapper().createObjectNode();
        event.put("schemaVersion", 1);
        event.put("type", stopped ? ContainerEvent.CONTAINER_STOPPED : ContainerEvent.CONTAINER_STARTED);
        event.put("eventId", UUID.randomUUID().toString());
        event.put("occurredAt", OutcomeCodec.INSTANT_FORMAT.format(clock.instant()));
        event.put("nodeId", node != null ? node : localNodeId());
        event.put("taskId", task);
        event.put("containerId", container);
        if (runtime != null) {
            event.put("runtime", runtime);
        }
        if (pid != null) {
            event.put("pid", pid);
        }
        if (netns != null) {
            event.put("netns", netns);
        }
        return new ObjectMapper().writeValueAsBytes(event);
    }

    private static String describe(DecodeResult result) {
        if (result instanceof DecodeResult.Invalid invalid) {
            return invalid.message();
        }
        if (result instanceof DecodeResult.Malformed malformed) {
            return malformed.message();
        }
        return result.toString();
    }

    /** The same default as {@code run --node-id} ({@link HostName#defaultNodeId()}); refused where there is none. */
    static String localNodeId() {
        String known = HostName.defaultNodeId();
        if (known == null) {
            throw new InvalidInputException("cannot determine this host's name; pass --node");
        }
        return known;
    }
}
