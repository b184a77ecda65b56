package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.UUID;
import javax.management.ObjectName;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/**
 * The pipeline makes its clients again after a failure, every second while it lasts: a round whose
 * producer cannot be made must not leave the consumer it made first behind (before, each such
 * round leaked one consumer's sockets and metrics).
 */
class KafkaClientsTest {

    @Test
    void aProducerThatCannotBeMadeClosesTheConsumerMadeBeforeIt() throws Exception {
        String client = "netfence-test-" + UUID.randomUUID();
        PipelineSettings settings = PipelineSettings.custom().kafka(Map.of("bootstrap.servers", "127.0.0.1:1",
                "client.id", client, "linger.ms", "not-a-number")).nodeId("n1").build();
        ObjectName consumerInfo = new ObjectName("kafka.consumer:type=app-info,id=" + client);

        assertThatThrownBy(() -> KafkaClients.both(settings, new NodeRouting("n1"), "tx"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("linger.ms");

        assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(consumerInfo))
                .as("the consumer made first is closed").isFalse();
    }

    /** Review 206 (low): the producer's batch.size, read by netfence to cap it, is reported with its key as the client would. */
    @Test
    void aBatchSizeThatIsNoNumberIsReportedWithItsKey() {
        assertThat(KafkaClients.badSetting(Map.of("batch.size", "abc"), "127.0.0.1:1", "n1", false))
                .contains(new KafkaClients.BadSetting("batch.size", "Not a number of type INT, was: abc"));
    }

    @Test
    void theSettingsNoEventLossDependsOnCannotBeOverriddenByTheUsersKafkaSettings() {
        PipelineSettings settings = PipelineSettings.custom().kafka(Map.of("bootstrap.servers", "127.0.0.1:1",
                "auto.offset.reset", "latest", "enable.auto.commit", "true", "isolation.level", "read_uncommitted",
                "max.poll.records", "7")).nodeId("n1").build();

        Map<String, Object> config = KafkaClients.consumerConfig(settings, new NodeRouting("n1"));

        assertThat(config).containsEntry("auto.offset.reset", "earliest").containsEntry("enable.auto.commit", false)
                .containsEntry("isolation.level", "read_committed")
                .as("a setting no guarantee depends on is the user's").containsEntry("max.poll.records", "7");
    }

    @Test
    void bothClientsAreMadeWhenTheyCanBe() throws Exception {
        String client = "netfence-test-" + UUID.randomUUID();
        PipelineSettings settings = PipelineSettings.custom().kafka(Map.of("bootstrap.servers", "127.0.0.1:1",
                "client.id", client)).nodeId("n1").build();

        KafkaClients.Pair pair = KafkaClients.both(settings, new NodeRouting("n1"), "tx");
        try {
            assertThat(ManagementFactory.getPlatformMBeanServer()
                    .isRegistered(new ObjectName("kafka.consumer:type=app-info,id=" + client))).isTrue();
        } finally {
            pair.consumer().close(java.time.Duration.ZERO);
            pair.producer().close(java.time.Duration.ZERO);
        }
    }

    @Test
    void aSettingNetfenceReplacesWithItsOwnIsNamedWithTheValueUsedAndOneItKeepsIsNot() {
        // review 200: kafka.enable.auto.commit=true and kafka.isolation.level=read_uncommitted were dropped without a word
        assertThat(KafkaClients.replaced(Map.of("enable.auto.commit", "true", "isolation.level", "read_uncommitted",
                "acks", "ALL", "linger.ms", "20", "transactional.id", "mine"), "127.0.0.1:1", "n1", false))
                .containsExactly(
                        "kafka.enable.auto.commit=true is replaced by enable.auto.commit=false: netfence's own, which its"
                                + " guarantees need",
                        "kafka.isolation.level=read_uncommitted is replaced by isolation.level=read_committed: netfence's"
                                + " own, which its guarantees need",
                        "kafka.transactional.id=mine is dropped: netfence sends without transactions unless --exactly-once");
        assertThat(KafkaClients.replaced(Map.of("linger.ms", "20", "enable.auto.commit", "false"), "127.0.0.1:1", "n1",
                false)).isEmpty();
    }

    @Test
    void producerSettingsFromAConfigProviderAreReadAsTheProducerReadsThemBeforeItIsMade() throws Exception {
        // review 211: ConfigDef.parse and parseInt did not resolve ${file:...}: each round made a producer, then threw
        java.nio.file.Path file = java.nio.file.Files.createTempFile("nf-provider", ".properties");
        try {
            java.nio.file.Files.writeString(file, "v=5\nb=16384\n");
            Map<String, Object> p = new java.util.HashMap<>(Map.of("bootstrap.servers", "127.0.0.1:1",
                    "config.providers", "file",
                    "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider",
                    "linger.ms", "${file:" + file + ":v}", "batch.size", "${file:" + file + ":b}"));

            assertThat(ProducerWatchdog.batchSize(p)).isEqualTo(16384);
            assertThat(ProducerWatchdog.deliveryTimeout(p)).isEqualTo(java.time.Duration.ofMinutes(2));
        } finally {
            java.nio.file.Files.delete(file);
        }
    }

    @Test
    void acksMinusOneIsAllAndTheTransactionalIdLineSaysWhatIsUsed() {
        assertThat(KafkaClients.replaced(Map.of("acks", "-1"), "127.0.0.1:1", "n1", false)).isEmpty();
        assertThat(KafkaClients.replaced(Map.of("transactional.id", "mine"), "127.0.0.1:1", "n1", true))
                .containsExactly("kafka.transactional.id=mine is replaced by netfence's own transactional id (see"
                        + " kafka-pipeline.md)");
    }
}
