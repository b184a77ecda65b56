package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.MeterNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private NetfenceMetrics metrics;
    private MetricsServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    @Test
    void metricsEndpointServesPrometheusTextWithRegisteredCountersAndJvmMetrics() throws Exception {
        metrics = NetfenceMetrics.create();
        Counter.builder(MeterNames.OUTCOMES).tag("status", "applied").tag("code", "none")
                .register(metrics.registry()).increment(3);
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, HealthStatus::up);

        HttpResponse<String> response = get("/metrics");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
        assertThat(response.body())
                .contains("# TYPE netfence_outcomes_total counter")
                .contains("netfence_outcomes_total{code=\"none\",status=\"applied\"} 3.0")
                .contains("jvm_memory_used_bytes")
                .contains("jvm_gc_")
                .contains("process_uptime_seconds")
                .contains("system_cpu_count");
    }

    @Test
    void latencyTimersPublishHistogramBucketsAndOtherTimersDoNot() throws Exception {
        PrometheusMeterRegistry registry = NetfenceMetrics.newRegistry();
        Timer.builder(MeterNames.APPLY_DURATION).register(registry).record(Duration.ofMillis(12));
        Timer.builder(MeterNames.EVENT_LATENCY).register(registry).record(Duration.ofMillis(250));
        Timer.builder("netfence.other").register(registry).record(Duration.ofMillis(5));
        server = MetricsServer.start(0, registry, HealthStatus::up, HealthStatus::up);

        String body = get("/metrics").body();

        assertThat(body).contains("netfence_apply_duration_seconds_bucket{le=\"0.001\"}")
                .contains("netfence_apply_duration_seconds_bucket{le=\"+Inf\"} 1")
                .contains("netfence_event_latency_seconds_bucket{le=\"+Inf\"} 1")
                .contains("netfence_other_seconds_count 1")
                .doesNotContain("netfence_other_seconds_bucket");
        registry.close();
    }

    @Test
    void readyzAnswers503WithTheReasonUntilTheReadinessCheckSaysReady() throws Exception {
        AtomicReference<HealthStatus> readiness = new AtomicReference<>(HealthStatus.down("partitions not assigned yet"));
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, readiness::get);

        HttpResponse<String> notReady = get("/readyz");
        readiness.set(HealthStatus.up());
        HttpResponse<String> ready = get("/readyz");

        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(notReady.body()).isEqualTo("partitions not assigned yet\n");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("ok\n");
    }

    @Test
    void healthzFollowsTheLivenessCheckAndAThrowingCheckCountsAsDown() throws Exception {
        AtomicReference<HealthStatus> liveness = new AtomicReference<>(HealthStatus.up());
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), () -> {
            HealthStatus status = liveness.get();
            if (status == null) {
                throw new IllegalStateException("boom");
            }
            return status;
        }, HealthStatus::up);

        int live = get("/healthz").statusCode();
        liveness.set(null);
        HttpResponse<String> broken = get("/healthz");

        assertThat(live).isEqualTo(200);
        assertThat(broken.statusCode()).isEqualTo(503);
        assertThat(broken.body()).startsWith("check failed: java.lang.IllegalStateException: boom");
    }

    @Test
    void unknownPathsAnswer404AndWritesAnswer405() throws Exception {
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, HealthStatus::up);

        HttpResponse<String> missing = get("/nothing");
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(uri("/metrics"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    }

    @Test
    void bindingAPortInUseFailsWithTheAddressInTheMessage() {
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, HealthStatus::up);

        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> MetricsServer.start(server.port(), metrics.registry(), HealthStatus::up, HealthStatus::up))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining("cannot bind the metrics/health port")
                .hasMessageContaining(String.valueOf(server.port()));
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    @Test
    void aServerBoundToLoopbackIsNotReachedOnAnotherAddress() throws Exception {
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(java.net.InetAddress.getByName("127.0.0.1"), 0, metrics.registry(),
                HealthStatus::up, HealthStatus::up);

        assertThat(server.address().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress("127.0.0.2", server.port()), 2000);
            }
        }).isInstanceOf(java.net.ConnectException.class);
    }

    @Test
    void clientsThatNeverFinishTheirRequestAreClosedAndTheServerAnswersAgain() throws Exception {
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, HealthStatus::up);
        assertThat(System.getProperty("sun.net.httpserver.maxReqTime")).isEqualTo("5");
        java.util.List<java.net.Socket> slow = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) { // more than the handler threads
                java.net.Socket s = new java.net.Socket("127.0.0.1", server.port());
                s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.setSoTimeout(20_000);
                slow.add(s);
            }
            for (java.net.Socket s : slow) {
                assertThat(readUntilClosed(s)).as("the server closed the unfinished request").isTrue();
            }
        } finally {
            for (java.net.Socket s : slow) {
                s.close();
            }
        }
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void connectionsPastTheLimitAreClosedAtOnce() throws Exception {
        metrics = NetfenceMetrics.create();
        server = MetricsServer.start(0, metrics.registry(), HealthStatus::up, HealthStatus::up);
        java.util.List<java.net.Socket> open = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 256; i++) {
                open.add(new java.net.Socket("127.0.0.1", server.port()));
            }
            Thread.sleep(500); // the server's dispatcher takes them in
            try (java.net.Socket past = new java.net.Socket("127.0.0.1", server.port())) {
                past.setSoTimeout(3_000);
                assertThat(readUntilClosed(past)).as("the 257th connection is closed by the server").isTrue();
            }
        } finally {
            for (java.net.Socket s : open) {
                s.close();
            }
        }
    }

    /** True when the peer closed (or reset) the connection before the socket's timeout. */
    private static boolean readUntilClosed(java.net.Socket s) throws IOException {
        try {
            while (s.getInputStream().read() >= 0) {
                // whatever it sends first, it must close
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true; // reset
        }
    }
}
