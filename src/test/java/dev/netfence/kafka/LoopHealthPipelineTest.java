package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.MeterNames;
import dev.netfence.ops.HealthStatus;
import dev.netfence.ops.MetricsServer;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code /healthz} tells a stuck consumer loop from a running one: the poll thread is stalled for
 * real (inside its own work on a record, by a meter registry that blocks there) while the thread
 * stays alive, and liveness must fail with the stall, then recover when the loop moves again.
 */
@KafkaLane
class LoopHealthPipelineTest {

    /** Blocks the thread that first registers the consumed counter of malformed records until released. */
    private static final class StallingRegistry extends PrometheusMeterRegistry {
        final CountDownLatch stalled = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        StallingRegistry() {
            super(PrometheusConfig.DEFAULT);
        }

        @Override
        public Counter newCounter(Meter.Id id) {
            if (id.getName().equals(MeterNames.EVENTS_CONSUMED) && "malformed".equals(id.getTag("type"))) {
                stalled.countDown();
                try {
                    release.await(2, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return super.newCounter(id);
        }
    }

    @Test
    void aPollThreadThatIsAliveButStuckFailsHealthzAndPassesAgainOnceItMoves() throws Exception {
        StallingRegistry registry = new StallingRegistry();
        try (PipelineFixture f = new PipelineFixture(1)) {
            EventPipeline pipeline = new EventPipeline(f.settings("n1").stallThreshold(Duration.ofSeconds(2)).build(),
                    new RecordingEnforcer(), new InMemoryPolicyStore(), registry, Clock.systemUTC());
            try (MetricsServer server = MetricsServer.start(0, registry, pipeline.health().liveness(),
                    HealthStatus::up)) {
                pipeline.start();
                await().atMost(Duration.ofSeconds(60)).until(() -> !pipeline.assignment().isEmpty());
                assertThat(get(server, "/healthz").statusCode()).isEqualTo(200);

                f.send("n1", "not json".getBytes(StandardCharsets.UTF_8));
                assertThat(registry.stalled.await(60, TimeUnit.SECONDS)).as("the poll thread reached the stall").isTrue();

                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    HttpResponse<String> healthz = get(server, "/healthz");
                    assertThat(healthz.statusCode()).isEqualTo(503);
                    assertThat(healthz.body()).startsWith("loop stalled: no poll for ");
                });
                assertThat(pipeline.alive()).as("the thread is alive, only stuck").isTrue();

                registry.release.countDown();
                await().atMost(Duration.ofSeconds(30)).until(() -> get(server, "/healthz").statusCode() == 200);
                await().atMost(Duration.ofSeconds(60)).until(() -> f.deadLetters().size() == 1);
            } finally {
                registry.release.countDown();
                pipeline.close();
            }
            assertThat(pipeline.health().liveness().check()).isEqualTo(HealthStatus.down("loop stopped: shut down"));
        }
    }

    private static HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
