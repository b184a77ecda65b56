package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.event.ContainerEvent;
import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@KafkaLane
class PublishCommandTest {

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-28T15:00:00.123Z"), ZoneOffset.UTC);
    private String topic;

    @BeforeEach
    void topic() {
        topic = TestKafka.uniqueTopic("events");
        TestKafka.createTopics(3, topic);
    }

    private CommandRun publish(String... args) {
        String[] full = new String[args.length + 4];
        System.arraycopy(args, 0, full, 0, args.length);
        full[args.length] = "--bootstrap-servers";
        full[args.length + 1] = TestKafka.bootstrapServers();
        full[args.length + 2] = "--events-topic";
        full[args.length + 3] = topic;
        return CommandRun.of(new PublishCommand(clock), full);
    }

    @Test
    void publishesAContainerStartedEventKeyedByNodeThatTheServiceDecoderAccepts() {
        CommandRun run = publish("--task", "task-42", "--container", "3f9a0c", "--pid", "12345", "--node", "worker-7",
                "--runtime", "podman");

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<ConsumerRecord<byte[], byte[]>> records = TestKafka.readAll(topic);
        assertThat(records).hasSize(1);
        ConsumerRecord<byte[], byte[]> record = records.get(0);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("worker-7");
        DecodeResult decoded = new EventDecoder().decode(record.value());
        assertThat(decoded).isInstanceOf(DecodeResult.Decoded.class);
        ContainerEvent event = ((DecodeResult.Decoded) decoded).event();
        assertThat(event.schemaVersion()).isEqualTo(1);
        assertThat(event.type()).isEqualTo("container.started");
        assertThat(UUID.fromString(event.eventId()).version()).isEqualTo(4);
        assertThat(event.occurredAt()).isEqualTo(clock.instant());
        assertThat(event.nodeId()).isEqualTo("worker-7");
        assertThat(event.taskId()).isEqualTo("task-42");
        assertThat(event.containerId()).isEqualTo("3f9a0c");
        assertThat(event.runtime()).isEqualTo("podman");
        assertThat(event.pid()).isEqualTo(12345);
        assertThat(run.out()).contains("\"occurredAt\":\"2026-11-28T15:00:00.123Z\"")
                .contains("published event " + event.eventId() + " for container 3f9a0c on node worker-7 to " + topic + "-");
    }

    @Test
    void withStoppedItPublishesAContainerStoppedEventTheServiceDecoderAccepts() {
        CommandRun run = publish("--stopped", "--task", "task-42", "--container", "3f9a0c", "--node", "worker-7");

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<ConsumerRecord<byte[], byte[]>> records = TestKafka.readAll(topic);
        assertThat(records).hasSize(1);
        DecodeResult decoded = new EventDecoder().decode(records.get(0).value());
        assertThat(decoded).isInstanceOf(DecodeResult.Decoded.class);
        ContainerEvent event = ((DecodeResult.Decoded) decoded).event();
        assertThat(event.type()).isEqualTo("container.stopped");
        assertThat(event.containerId()).isEqualTo("3f9a0c");
        assertThat(event.pid()).isNull();
    }

    @Test
    void withoutNodeThePublishedEventNamesThisHostAndEachEventGetsItsOwnId() {
        CommandRun first = publish("--task", "task-42", "--container", "c1");
        CommandRun second = publish("--task", "task-42", "--container", "c2");

        assertThat(first.exitCode()).isZero();
        assertThat(second.exitCode()).isZero();
        List<ContainerEvent> events = TestKafka.readAll(topic).stream()
                .map(r -> ((DecodeResult.Decoded) new EventDecoder().decode(r.value())).event()).toList();
        assertThat(events).extracting(ContainerEvent::nodeId).containsOnly(PublishCommand.localNodeId());
        assertThat(events).extracting(ContainerEvent::pid).containsOnlyNulls();
        assertThat(events.get(0).eventId()).isNotEqualTo(events.get(1).eventId());
    }

    @Test
    void anEventTheServiceWouldRefuseIsInvalidInputAndNothingIsPublished() {
        CommandRun badContainer = publish("--task", "task-42", "--container", "-starts-with-dash");
        CommandRun badPid = publish("--task", "task-42", "--container", "c1", "--pid", "1");

        assertThat(badContainer.exitCode()).isEqualTo(1);
        assertThat(badContainer.err()).startsWith("netfence publish: the event would be refused: ").contains("containerId");
        assertThat(badPid.exitCode()).isEqualTo(1);
        assertThat(badPid.err()).contains("pid");
        assertThat(TestKafka.readAll(topic)).isEmpty();
    }

    @Test
    void missingRequiredOptionsAreAUsageErrorAndHelpHasExamples() {
        CommandRun missing = CommandRun.of(new PublishCommand(clock), "--container", "c1");
        CommandRun help = CommandRun.of(new PublishCommand(clock), "--help");

        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.err()).contains("Missing required option: '--task=TASK'");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("Examples:", "netfence publish --task task-42 --container 3f9a0c --pid 12345",
                "--bootstrap-servers", "--events-topic");
    }
}
