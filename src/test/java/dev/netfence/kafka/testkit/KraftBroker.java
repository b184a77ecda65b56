package dev.netfence.kafka.testkit;

import dev.netfence.testkit.LoopbackPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka broker (combined broker + controller) from Kafka's own broker
 * artifact, run as a child JVM on free loopback ports with its data in a directory of its own.
 * A child process (not an in-JVM server) so a test can stop and restart it with the same data,
 * or kill it, exactly like a real broker bounce; the child is ended by its pid in a shutdown
 * hook. Usable outside tests: {@code java -cp <test classpath> dev.netfence.kafka.testkit.KraftBroker DIR}
 * prints {@code bootstrap.servers=...} and runs until interrupted (SIGTERM stops the broker
 * cleanly); run again with the same DIR, it resumes that broker: same ports, same data, no
 * reformat (how {@code scripts/chaos.sh} bounces it). A third listener, {@code PROXIED}, is
 * advertised at a {@link StallingProxy} in this JVM, so a test that bootstraps a client there
 * ({@link #proxy()}) can stall chosen requests of that client only.
 */
public final class KraftBroker implements AutoCloseable {
    /**
     * How long a starting broker may take to serve. A resumed broker reloads its logs first; on 2
     * cores shared with other JVMs at a load of 30, a resume after SIGTERM took longer than 90 s.
     */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

    private final Path dir;
    private final Path properties;
    private final int port;
    private final boolean gracefulExit;
    private final StallingProxy proxy;
    private Process process;

    private KraftBroker(Path dir, int port, int controllerPort, boolean gracefulExit) throws IOException {
        this.dir = dir;
        this.port = port;
        this.gracefulExit = gracefulExit;
        int proxiedPort = freePort();
        this.proxy = new StallingProxy(proxiedPort);
        this.properties = dir.resolve("server.properties");
        Files.createDirectories(dir);
        Files.writeString(properties, String.join("\n", List.of(
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort
                        + ",PROXIED://127.0.0.1:" + proxiedPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port + ",PROXIED://127.0.0.1:" + proxy.port(),
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=1",
                "default.replication.factor=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "group.consumer.session.timeout.ms=45000",
                "group.classic.min.session.timeout.ms=1000",
                "auto.create.topics.enable=true",
                "log.segment.bytes=16777216",
                // no log.flush.interval.messages: Kafka's default, the page cache writes back. Set to 1
                // until 2026-12-02, every produce waited for an fsync and an msync of its index (17 % of
                // the broker's CPU in the bench, the outcome's hop p50 5.4 -> 3.8 ms without it); no
                // deployment runs that way, and a killed broker process loses nothing from the page cache
                "num.network.threads=2",
                "num.io.threads=2",
                "background.threads=2",
                "")), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("logback.xml"), """
                <configuration>
                  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
                  </appender>
                  <root level="WARN"><appender-ref ref="OUT"/></root>
                </configuration>
                """, StandardCharsets.UTF_8);
    }

    /** Formats storage in {@code dir} and starts a broker on free ports; waits until it serves. */
    public static KraftBroker start(Path dir) {
        try {
            KraftBroker broker = new KraftBroker(dir, freePort(), freePort(), false);
            broker.format();
            broker.startProcess();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded Kafka broker in " + dir, e);
        }
    }

    /**
     * Starts the broker that ran in {@code dir} before, on the same ports with the same data (no
     * reformat), or, when {@code dir} holds no formatted broker, a new one as {@link #start} does.
     * When this JVM exits, the broker gets SIGTERM and up to 30 s to stop cleanly.
     */
    public static KraftBroker resume(Path dir) {
        try {
            Path properties = dir.resolve("server.properties");
            boolean formatted = Files.exists(dir.resolve("data").resolve("meta.properties"));
            if (!formatted || !Files.exists(properties)) {
                KraftBroker broker = new KraftBroker(dir, freePort(), freePort(), true);
                broker.format();
                broker.startProcess();
                return broker;
            }
            String text = Files.readString(properties, StandardCharsets.UTF_8);
            KraftBroker broker = new KraftBroker(dir, listenerPort(text, "PLAINTEXT"), listenerPort(text, "CONTROLLER"), true);
            broker.startProcess();
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded Kafka broker in " + dir, e);
        }
    }

    private static int listenerPort(String properties, String listener) throws IOException {
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(?m)^listeners=.*\\b" + listener + "://127\\.0\\.0\\.1:(\\d+)").matcher(properties);
        if (!m.find()) {
            throw new IOException("server.properties names no " + listener + " listener port");
        }
        return Integer.parseInt(m.group(1));
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /**
     * The relay in front of the {@code PROXIED} listener: clients bootstrapped at
     * {@link StallingProxy#bootstrapServers()} reach this broker only through it.
     */
    public StallingProxy proxy() {
        return proxy;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Stops the broker cleanly (SIGTERM, then SIGKILL after 30 s), keeping its data. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        process = null;
    }

    /** Starts a stopped broker again on the same port with the same data. */
    public synchronized void restart() {
        stop();
        try {
            startProcess();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restart the embedded Kafka broker", e);
        }
    }

    @Override
    public void close() {
        stop();
        proxy.close();
    }

    private void format() throws IOException {
        List<String> argv = java("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(),
                "-c", properties.toString());
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(dir.resolve("format.log").toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("kafka storage format failed; see " + dir.resolve("format.log"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while formatting storage", e);
        }
    }

    private synchronized void startProcess() throws IOException {
        List<String> argv = java("kafka.Kafka", properties.toString());
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.log").toFile())).start();
        process = p;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (p.isAlive() && gracefulExit) {
                p.destroy();
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }, "kraft-broker-reaper-" + p.pid()));
        awaitServing(p);
    }

    private void awaitServing(Process p) throws IOException {
        Instant deadline = Instant.now().plus(START_TIMEOUT);
        Map<String, Object> conf = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        while (Instant.now().isBefore(deadline)) {
            if (!p.isAlive()) {
                throw new IOException("broker exited with " + p.exitValue() + "; see " + dir.resolve("broker.log"));
            }
            try (Admin admin = Admin.create(conf)) {
                if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                    return;
                }
            } catch (Exception notYet) {
                sleep(200);
            }
        }
        p.destroyForcibly();
        throw new IOException("broker did not serve within " + START_TIMEOUT + "; see " + dir.resolve("broker.log"));
    }

    private List<String> java(String mainClass, String... args) {
        List<String> argv = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-Dlogback.configurationFile=" + dir.resolve("logback.xml"),
                "-cp", System.getProperty("java.class.path"), mainClass));
        argv.addAll(List.of(args));
        return argv;
    }

    private static int freePort() {
        return LoopbackPorts.unused();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs a broker until this JVM is interrupted: {@code KraftBroker DIR}. */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: KraftBroker DIR");
            System.exit(2);
        }
        try (KraftBroker broker = resume(Path.of(args[0]))) {
            System.out.println("bootstrap.servers=" + broker.bootstrapServers());
            System.out.flush();
            new java.util.concurrent.CountDownLatch(1).await();
        }
    }

}
