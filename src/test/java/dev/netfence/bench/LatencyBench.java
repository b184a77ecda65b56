package dev.netfence.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;

/**
 * Section 4, latency. netfence runs with real application over the sandboxes; after a warm-up
 * (not counted; the measurement starts once all its outcomes were read, so netfence's start-up is
 * not in the figures) events are offered at a fixed rate, each with {@code occurredAt} = the
 * moment it is sent, and a reader polls the outcome topic: latency = the wall-clock time the
 * outcome was read minus the event's occurredAt (same host clock). Reports p50/p95/p99/max, and writes every
 * sample in reading order to {@code latency-samples.txt}.
 */
final class LatencyBench {
    private static final Duration STALL = Duration.ofSeconds(60);
    private final BenchArgs args;

    LatencyBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        BenchKafka kafka = new BenchKafka(args.string("bootstrap"));
        int rate = args.integer("rate", 100);
        int seconds = args.integer("seconds", 30);
        int warmup = args.integer("warmup", 200);
        int concurrency = args.integer("concurrency", 8);
        String id = UUID.randomUUID().toString().substring(0, 8);
        String node = "bench-" + id;
        String events = "bench.latency-events-" + id;
        String outcomes = "bench.latency-outcomes-" + id;
        kafka.createTopics(1, Map.of(), events, outcomes);
        int total = warmup + rate * seconds;
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        List<double[]> parts = Collections.synchronizedList(new ArrayList<>());
        Map<String, Integer> statuses = new TreeMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        try (NetfenceProcess nf = NetfenceProcess.start(args.path("root"),
                args.path("out").resolve("netfence-latency-" + id + ".log"), args.string("java-opts", ""),
                EnforceBench.flags(kafka, node, events, outcomes, concurrency, args.path("out"), args));
             KafkaProducer<byte[], byte[]> producer = kafka.producer(0)) {
            AtomicInteger warmedUp = new AtomicInteger();
            Thread reader = new Thread(() -> read(kafka, outcomes, total, warmup, latencies, parts, statuses, stop, warmedUp));
            reader.start();
            long period = 1_000_000_000L / rate;
            long next = System.nanoTime();
            for (int i = 0; i < total; i++) {
                if (i == warmup) {
                    // the measured events start once every warm-up outcome was read: netfence is up, has joined
                    // its group and works at the offered rate. (A fixed pause measured netfence's start-up: on an
                    // idle machine the first ~2-4 s of measured events waited for it, p95 1.9 s with p50 27 ms.)
                    awaitWarmUp(warmedUp, warmup, nf);
                    Thread.sleep(1000);
                    next = System.nanoTime();
                }
                LockSupport.parkNanos(next - System.nanoTime());
                // the warm-up at twice the offered rate: enough events for the JIT (the launcher's C1
                // compiles a method after ~200 calls) without lengthening the run much
                next += i < warmup ? period / 2 : period;
                Sandboxes.Sandbox box = boxes.forEvent(i);
                producer.send(BenchData.eventRecord(events, node, EnforceBench.taskOf(i % boxes.all().size()),
                        box.containerId(), box.pid(), Instant.now()));
                nf.checkAlive();
            }
            producer.flush();
            // netfence may be behind (the offered rate can exceed what it sustains): wait while it makes progress
            int last = -1;
            long stalledSince = System.nanoTime();
            while (reader.isAlive() && System.nanoTime() - stalledSince < STALL.toNanos()) {
                reader.join(1000);
                nf.checkAlive();
                if (latencies.size() != last) {
                    last = latencies.size();
                    stalledSince = System.nanoTime();
                }
            }
            stop.set(true);
            reader.join();
        }
        if (latencies.size() < rate * seconds) {
            throw new IllegalStateException("only " + latencies.size() + " of " + rate * seconds + " outcomes read");
        }
        int bad = statuses.entrySet().stream().filter(e -> !e.getKey().equals("applied")).mapToInt(Map.Entry::getValue).sum();
        if (bad > 0) {
            throw new IllegalStateException(bad + " outcomes were not applied: " + statuses);
        }
        // in the order the outcomes were read, for the shape of the tail over time (a backlog grows, a stall is a spike)
        java.nio.file.Files.write(args.path("out").resolve("latency-samples.txt"),
                latencies.stream().map(l -> String.format(java.util.Locale.ROOT, "%.1f", l)).toList());
        // the same samples split as the breakdown below: to applied, applied to produced, produced to read
        java.nio.file.Files.write(args.path("out").resolve("latency-breakdown.txt"),
                parts.stream().map(a -> String.format(java.util.Locale.ROOT, "%.1f %.1f %.1f", a[0], a[1], a[2])).toList());
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("latency_p50_ms", Stats.round(Stats.percentile(sorted, 50), 1));
        r.put("latency_p95_ms", Stats.round(Stats.percentile(sorted, 95), 1));
        r.put("latency_p99_ms", Stats.round(Stats.percentile(sorted, 99), 1));
        r.put("latency_max_ms", Stats.round(sorted.get(sorted.size() - 1), 1));
        r.put("samples", sorted.size());
        Map<String, Object> breakdown = new LinkedHashMap<>();
        String[] names = {"to_applied", "applied_to_produced", "produced_to_read"};
        for (int k = 0; k < names.length; k++) {
            final int col = k;
            List<Double> v = new ArrayList<>(parts.stream().map(a -> a[col]).toList());
            Collections.sort(v);
            breakdown.put(names[k] + "_p50_ms", Stats.round(Stats.percentile(v, 50), 1));
            breakdown.put(names[k] + "_p99_ms", Stats.round(Stats.percentile(v, 99), 1));
        }
        r.put("breakdown", breakdown);
        r.put("outcome_statuses", statuses);
        r.put("settings", Map.of("rate_per_s", rate, "seconds", seconds, "warmup_events", warmup,
                "sandboxes", boxes.all().size(), "concurrency", concurrency));
        return r;
    }

    /** Waits until {@code warmup} outcomes were read; fails when netfence makes no progress for {@link #STALL}. */
    private static void awaitWarmUp(AtomicInteger warmedUp, int warmup, NetfenceProcess nf) throws InterruptedException {
        int last = -1;
        long since = System.nanoTime();
        while (warmedUp.get() < warmup) {
            nf.checkAlive();
            if (warmedUp.get() != last) {
                last = warmedUp.get();
                since = System.nanoTime();
            } else if (System.nanoTime() - since > STALL.toNanos()) {
                throw new IllegalStateException("only " + last + " of " + warmup + " warm-up outcomes read in " + STALL);
            }
            Thread.sleep(20);
        }
    }

    private static void read(BenchKafka kafka, String topic, int total, int warmup, List<Double> latencies,
            List<double[]> parts, Map<String, Integer> statuses, AtomicBoolean stop, AtomicInteger warmedUp) {
        try (KafkaConsumer<byte[], byte[]> c = kafka.reader()) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            int seen = 0;
            while (seen < total && !stop.get()) {
                var polled = c.poll(Duration.ofMillis(5));
                Instant now = Instant.now();
                for (ConsumerRecord<byte[], byte[]> r : polled) {
                    seen++;
                    JsonNode o = Bench.JSON.readTree(r.value());
                    if (seen <= warmup) {
                        warmedUp.set(seen);
                        continue;
                    }
                    statuses.merge(o.path("status").asText(), 1, Integer::sum);
                    Instant occurred = Instant.parse(o.path("eventOccurredAt").asText());
                    latencies.add(Duration.between(occurred, now).toNanos() / 1e6);
                    // where it went: event sent -> rules applied (finishedAt), -> outcome handed to the
                    // producer (the record's create time, ms), -> read here
                    Instant finished = Instant.parse(o.path("finishedAt").asText());
                    Instant produced = Instant.ofEpochMilli(r.timestamp());
                    parts.add(new double[] {Duration.between(occurred, finished).toNanos() / 1e6,
                            Duration.between(finished, produced).toNanos() / 1e6,
                            Duration.between(produced, now).toNanos() / 1e6});
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("latency reader failed", e);
        }
    }
}
