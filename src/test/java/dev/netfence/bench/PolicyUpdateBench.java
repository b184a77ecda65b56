package dev.netfence.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Section policy (issue 15 item 2: "a new version of a task's policy is applied to every live
 * container of that task on this node within 2 s"). {@code netfence run} as users start it
 * (policies from a compacted topic, {@code --backend nft}, real application in the sandboxes,
 * default resync interval) enforces one task per sandbox from start events; then U new policy
 * versions are written to the policies topic at a fixed rate, round-robin over the tasks (each a
 * different endpoint list, so a different digest). Latency of one update = the moment the driver
 * hands the new version to its producer (as {@code netfence policy put} would) to the moment it
 * reads the outcome with {@code trigger: policy-update} carrying that task and that version's
 * digest; so it holds the produce, netfence's policy-store poll, the correction queue, the nft
 * apply and the outcome's produce and fetch (same host clock). A version overtaken by the next
 * one of its task before it was applied gets no outcome of its own (the reconciler applies what
 * the store holds now): it counts as arrived when the newer version's outcome does, and is
 * counted in {@code superseded}. Every outcome must be {@code applied}, and every update must
 * arrive.
 */
final class PolicyUpdateBench {
    private static final Duration STALL = Duration.ofSeconds(30);
    private final BenchArgs args;

    PolicyUpdateBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        BenchKafka kafka = new BenchKafka(args.string("bootstrap"));
        int updates = args.integer("updates", 100);
        int rate = args.integer("rate", 10);
        int n = boxes.all().size();
        String id = UUID.randomUUID().toString().substring(0, 8);
        String node = "bench-" + id;
        String policies = "bench.pu-policies-" + id;
        String events = "bench.pu-events-" + id;
        String outcomes = "bench.pu-outcomes-" + id;
        kafka.createTopics(1, Map.of("cleanup.policy", "compact"), policies);
        kafka.createTopics(1, Map.of(), events, outcomes);
        kafka.load(n, i -> new ProducerRecord<>(policies, task(i).getBytes(StandardCharsets.UTF_8),
                BenchData.policy(EnforceBench.ENDPOINTS, i).getBytes(StandardCharsets.UTF_8)));
        Instant now = Instant.now();
        kafka.load(n, i -> BenchData.eventRecord(events, node, task(i), boxes.all().get(i).containerId(),
                boxes.all().get(i).pid(), now));
        List<String> flags = List.of("--bootstrap-servers", kafka.bootstrap(), "--node-id", node,
                "--policies-topic", policies, "--events-topic", events, "--outcomes-topic", outcomes,
                "--enforcements-topic", "bench.pu-enforcements-" + id, "--hook-socket", "off",
                "--concurrency", "8", "--http-port", "0", "--cgroup-check", args.string("cgroup-check", "true"),
                "--backend", "nft");
        Map<String, List<Sent>> sent = new ConcurrentHashMap<>();
        AtomicInteger superseded = new AtomicInteger();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        Map<String, Integer> statuses = new TreeMap<>();
        AtomicInteger started = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        List<String> bad = Collections.synchronizedList(new ArrayList<>());
        PolicyParser parser = new PolicyParser();
        try (NetfenceProcess nf = NetfenceProcess.start(args.path("root"),
                args.path("out").resolve("netfence-policy-" + id + ".log"), args.string("java-opts", ""), flags);
             KafkaProducer<byte[], byte[]> producer = kafka.producer(0)) {
            Thread reader = new Thread(() -> read(kafka, outcomes, sent, latencies, superseded, statuses, started,
                    bad, stop));
            reader.setDaemon(true);
            reader.start();
            long until = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (started.get() < n && bad.isEmpty()) {
                nf.checkAlive();
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("only " + started.get() + " of " + n + " start outcomes after 3 min");
                }
                Thread.sleep(100);
            }
            if (!bad.isEmpty()) {
                throw new IllegalStateException("not applied: " + bad.get(0));
            }
            Map<String, String> inForce = new HashMap<>();
            for (int i = 0; i < n; i++) {
                inForce.put(task(i), PolicyDigest.of(parser.parse(
                        BenchData.policy(EnforceBench.ENDPOINTS, i).getBytes(StandardCharsets.UTF_8))));
            }
            long period = 1_000_000_000L / rate;
            long next = System.nanoTime();
            for (int u = 0; u < updates; u++) {
                LockSupport.parkNanos(next - System.nanoTime());
                next += period;
                int i = u % n;
                String json = BenchData.policy(EnforceBench.ENDPOINTS, UPDATE_VARIANTS + u);
                String digest = PolicyDigest.of(parser.parse(json.getBytes(StandardCharsets.UTF_8)));
                // an "update" equal to the version in force changes nothing and gets no outcome: it
                // would be counted as superseded and timed by the next one (the first run had every
                // task's first update equal to its start policy: variant 1000 + i = i modulo 250)
                if (digest.equals(inForce.put(task(i), digest))) {
                    throw new IllegalStateException("update " + u + " of " + task(i) + " equals the version in force");
                }
                List<Sent> pending = sent.computeIfAbsent(task(i), t -> new ArrayList<>());
                synchronized (pending) {
                    pending.add(new Sent(digest, System.nanoTime()));
                }
                producer.send(new ProducerRecord<>(policies, task(i).getBytes(StandardCharsets.UTF_8),
                        json.getBytes(StandardCharsets.UTF_8)));
                nf.checkAlive();
            }
            producer.flush();
            int last = -1;
            long stalledSince = System.nanoTime();
            while (latencies.size() < updates && bad.isEmpty() && System.nanoTime() - stalledSince < STALL.toNanos()) {
                Thread.sleep(100);
                nf.checkAlive();
                if (latencies.size() != last) {
                    last = latencies.size();
                    stalledSince = System.nanoTime();
                }
            }
            stop.set(true);
            reader.join(10_000);
        }
        if (!bad.isEmpty()) {
            throw new IllegalStateException(bad.size() + " outcomes were not applied, e.g. " + bad.get(0));
        }
        if (latencies.size() < updates) {
            throw new IllegalStateException("only " + latencies.size() + " of " + updates
                    + " policy updates got their policy-update outcome; statuses " + statuses);
        }
        List<Double> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("policy_update_p50_ms", Stats.round(Stats.percentile(sorted, 50), 1));
        r.put("policy_update_p99_ms", Stats.round(Stats.percentile(sorted, 99), 1));
        r.put("policy_update_max_ms", Stats.round(sorted.get(sorted.size() - 1), 1));
        r.put("samples", sorted.size());
        r.put("superseded", superseded.get());
        r.put("outcome_statuses", statuses);
        r.put("settings", Map.of("updates", updates, "rate_per_s", rate, "sandboxes", n, "tasks", n,
                "endpoints_per_policy", EnforceBench.ENDPOINTS, "store", "compacted topic (TopicPolicyStore)",
                "netfence_args", String.join(" ", flags).replace(kafka.bootstrap(), "BOOTSTRAP")));
        return r;
    }

    /** The version {@code digest} of a task is in force at {@code at}: it and every older pending version arrived. */
    private static void arrived(List<Sent> pending, String digest, long at, List<Double> latencies,
            AtomicInteger superseded) {
        if (pending == null) {
            return;
        }
        synchronized (pending) {
            int j = 0;
            while (j < pending.size() && !pending.get(j).digest().equals(digest)) {
                j++;
            }
            if (j == pending.size()) {
                return; // not one of ours (an older version re-applied), or already counted
            }
            for (int k = 0; k <= j; k++) {
                latencies.add((at - pending.get(k).nanos()) / 1e6);
            }
            superseded.addAndGet(j);
            pending.subList(0, j + 1).clear();
        }
    }

    /** Update variants start here: {@link BenchData#policy} repeats modulo 250, so not at 1000 (= 0). */
    private static final int UPDATE_VARIANTS = 100;

    static String task(int i) {
        return "pu-task-" + i;
    }

    private record Sent(String digest, long nanos) {}

    private static void read(BenchKafka kafka, String topic, Map<String, List<Sent>> sent, List<Double> latencies,
            AtomicInteger superseded, Map<String, Integer> statuses, AtomicInteger started, List<String> bad,
            AtomicBoolean stop) {
        try (KafkaConsumer<byte[], byte[]> c = kafka.reader()) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            while (!stop.get()) {
                var polled = c.poll(Duration.ofMillis(5));
                long at = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> r : polled) {
                    JsonNode o = Bench.JSON.readTree(r.value());
                    String trigger = o.path("trigger").asText();
                    String status = o.path("status").asText();
                    synchronized (statuses) {
                        statuses.merge(trigger + " " + status, 1, Integer::sum);
                    }
                    if (!"applied".equals(status)) {
                        bad.add(o.toString());
                    } else if ("start".equals(trigger)) {
                        started.incrementAndGet();
                    } else if ("policy-update".equals(trigger)) {
                        arrived(sent.get(o.path("taskId").asText()), o.path("policyDigest").asText(), at, latencies,
                                superseded);
                    }
                }
            }
        } catch (Exception e) {
            bad.add("outcome reader failed: " + e);
        }
    }
}
