package dev.netfence.kafka;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices a pipeline producer that stopped answering, which nothing else would: such a producer never
 * fails a send, so no callback reports it, no commit passes its outputs and the loop beats on. Two
 * signs: its I/O thread ({@code kafka-producer-network-thread | <client.id>}) died on its own
 * (kafka-clients 4.1 dies of a {@code StackOverflowError} after splitting a refused batch and retrying
 * it some 20,000 times, KAFKA-8350, when an output topic's {@code max.message.bytes} was lowered below
 * the producer's {@code batch.size} after it was made; a producer netfence closed itself after a failed
 * send, {@link #closedOnPurpose}, is the sink's to report), or a send it took ({@code send} returned:
 * one still inside {@code send} is bounded by {@code max.block.ms}) has had no answer for longer than
 * its effective {@code delivery.timeout.ms} ({@link #deliveryTimeout}) plus {@link #MARGIN} (the
 * producer promises one within the former). {@link #check}, on the poll thread each round, then throws
 * {@link OutputSink.FatalClientException}: the pipeline makes its clients again (the new producer's
 * {@code batch.size} capped anew to the output topics' limits, {@link OutputTopicLimits}) and redoes
 * the records after the last commit, in offset order, as for any other producer failure. From then
 * until the next producer answers a send, {@link #notReadyReason} names the cause, and the smallest
 * output topic limit when it is below the wedged producer's {@code batch.size}; after {@link #GIVE_UP}
 * such producers in a row with no answer between, {@link #deadReason} says so for {@code /healthz}.
 * Outlives the clients; thread-safe.
 */
final class ProducerWatchdog {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerWatchdog.class);
    /** Added to the producer's {@code delivery.timeout.ms}: how long a send may go unanswered. */
    static final Duration MARGIN = Duration.ofSeconds(30);
    /** Producers found wedged in a row, with no send answered between, after which liveness is down. */
    static final int GIVE_UP = 3;
    /** {@link #check} looks at most this often (it scans the sends awaiting an answer). */
    static final Duration CHECK_EVERY = Duration.ofSeconds(1);
    private static final String IO_THREAD = "kafka-producer-network-thread | ";

    private final Clock clock;
    private final Supplier<List<OutputTopicLimits.Limit>> limits;
    private final AtomicLong tokens = new AtomicLong();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicInteger inARow = new AtomicInteger();
    private volatile Thread ioThread;
    private volatile Throwable died;
    private volatile boolean closedOnPurpose;
    private volatile boolean found;
    private volatile Duration bound = Duration.ofMinutes(2).plus(MARGIN);
    private volatile int batchSize;
    private volatile String wedged;
    private Instant nextCheck = Instant.MIN;

    /** A send handed to the producer; {@code since} null while it is still inside {@code send} (not timed). */
    private record Pending(String topic, Instant since) {}

    /** @param limits the output topics' {@code max.message.bytes} now, smallest first, read when a producer is found wedged */
    ProducerWatchdog(Clock clock, Supplier<List<OutputTopicLimits.Limit>> limits) {
        this.clock = clock;
        this.limits = limits;
    }

    /** The pipeline's watchdog: the limits of its outcomes and DLQ topics. */
    static ProducerWatchdog of(PipelineSettings s, Clock clock) {
        return new ProducerWatchdog(clock, () -> OutputTopicLimits.of(KafkaClients.adminSettings(s),
                List.of(s.outcomesTopic(), s.dlqTopic())));
    }

    /**
     * The {@code delivery.timeout.ms} a producer made with these settings uses: the value its
     * {@link ProducerConfig} parses (Kafka's default, 120 s, when not set), raised to {@code linger.ms +
     * request.timeout.ms} when not set and below that, as kafka-clients 4.1's
     * {@code KafkaProducer.configureDeliveryTimeout} does (a set value below it is refused: no producer is
     * made). Parsed by {@link ProducerConfig#configDef()}, which does not log the settings as a new
     * {@code ProducerConfig} would; {@code ProducerWatchdogTest} holds it to the value a producer uses.
     */
    static Duration deliveryTimeout(Map<String, Object> producerSettings) {
        Map<String, ?> parsed = parsed(producerSettings);
        long delivery = ((Number) parsed.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).longValue();
        long linger = Math.min(Integer.MAX_VALUE, ((Number) parsed.get(ProducerConfig.LINGER_MS_CONFIG)).longValue());
        long lingerAndRequest = Math.min(Integer.MAX_VALUE,
                linger + ((Number) parsed.get(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)).longValue());
        boolean set = producerSettings.containsKey(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG);
        return Duration.ofMillis(!set && delivery < lingerAndRequest ? lingerAndRequest : delivery);
    }

    /** The {@code batch.size} a producer made with {@code producerSettings} uses. */
    static int batchSize(Map<String, Object> producerSettings) {
        return ((Number) parsed(producerSettings).get(ProducerConfig.BATCH_SIZE_CONFIG)).intValue();
    }

    /**
     * {@code producerSettings} parsed as the producer parses them, config providers' values
     * ({@code ${file:…}}, {@code ${env:…}}) resolved, nothing logged; ConfigException where the
     * producer would refuse them. Read before the producer is made, so that a value read only here
     * cannot leave a producer made and never closed (review 211).
     */
    private static Map<String, ?> parsed(Map<String, Object> producerSettings) {
        Map<String, Object> settings = new HashMap<>(producerSettings);
        settings.putIfAbsent(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        settings.putIfAbsent(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return new org.apache.kafka.common.config.AbstractConfig(ProducerConfig.configDef(), settings, false).values();
    }

    /** The I/O threads of producers with this {@code client.id} now (before one is made). */
    static Set<Thread> ioThreads(String clientId) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(IO_THREAD + clientId))
                .collect(Collectors.toSet());
    }

    /** The I/O thread of the producer just made with {@code clientId}: the one not there {@code before}, if one. */
    static Optional<Thread> newIoThread(String clientId, Set<Thread> before) {
        Set<Thread> made = ioThreads(clientId);
        made.removeAll(before);
        return made.size() == 1 ? Optional.of(made.iterator().next()) : Optional.empty();
    }

    /** New clients: from now on {@code producing}'s producer is watched. */
    void watch(KafkaClients.Producing producing) {
        watch(producing.ioThread(), producing.batchSize(), producing.deliveryTimeout());
    }

    /**
     * New clients: from now on the producer with this I/O thread (if found), {@code batchSize} and
     * effective {@code deliveryTimeout} ({@link #deliveryTimeout}) is watched.
     */
    void watch(Optional<Thread> io, int batchSize, Duration deliveryTimeout) {
        pending.clear();
        nextCheck = Instant.MIN;
        died = null;
        closedOnPurpose = false;
        found = false;
        this.batchSize = batchSize;
        this.bound = deliveryTimeout.plus(MARGIN);
        ioThread = io.orElse(null);
        io.ifPresent(t -> {
            Thread.UncaughtExceptionHandler before = t.getUncaughtExceptionHandler();
            t.setUncaughtExceptionHandler((thread, e) -> {
                if (thread == ioThread) {
                    died = e;
                }
                if (before != null) {
                    before.uncaughtException(thread, e);
                }
            });
        });
    }

    /**
     * A send to {@code topic} is about to be handed to the producer: the token to report it with. Not
     * timed yet: {@code send} may block up to {@code max.block.ms} (on metadata, on buffer space), which
     * bounds it itself (and may be set above the delivery timeout).
     */
    long sending(String topic) {
        long token = tokens.incrementAndGet();
        if (!found) { // once found wedged, no send to it counts: its forced close fails them all (review 211)
            pending.put(token, new Pending(topic, null));
        }
        return token;
    }

    /** The producer took the send ({@code send} returned, the record is in its accumulator): its delivery timeout starts now. */
    void sent(long token) {
        pending.computeIfPresent(token, (k, p) -> new Pending(p.topic(), clock.instant()));
    }

    /** The producer answered the send (acknowledged or failed it): it is not wedged. */
    void answered(long token) {
        if (pending.remove(token) != null) {
            inARow.set(0);
            wedged = null;
        }
    }

    /** The producer refused the send before taking it ({@code send} threw): no answer is awaited. */
    void dropped(long token) {
        pending.remove(token);
    }

    /**
     * netfence closes the watched producer itself, a send having failed: the sink reports that failure
     * ({@link OutputSink#commit} throws it, {@link SendHealth} may name it on {@code /readyz}), and the
     * producer's end is no wedge, nor its I/O thread's, unless that died of an error first.
     */
    void closedOnPurpose() {
        closedOnPurpose = true;
    }

    /** Why the watched producer does not answer, or empty while it does (or may yet). */
    Optional<String> unresponsive() {
        Thread t = ioThread;
        Throwable d = died;
        if (closedOnPurpose && d == null) {
            return Optional.empty();
        }
        if (t != null && !t.isAlive()) {
            return Optional.of("its I/O thread '" + t.getName() + "' died" + (d == null ? "" : " of " + d));
        }
        Instant now = clock.instant();
        Duration bound = this.bound;
        return pending.values().stream().filter(p -> p.since() != null).min(Comparator.comparing(Pending::since))
                .filter(p -> Duration.between(p.since(), now).compareTo(bound) > 0)
                .map(p -> "a send to " + p.topic() + " has had no answer for " + Duration.between(p.since(), now)
                        .toSeconds() + " s, more than delivery.timeout.ms + " + MARGIN.toSeconds() + " s ("
                        + bound.toSeconds() + " s)");
    }

    /**
     * Poll thread: throws {@link OutputSink.FatalClientException} when the producer stopped answering,
     * so the clients are made again; logs it once, with the output topic limit it may have outgrown.
     * Looks at most every {@link #CHECK_EVERY}.
     */
    void check() {
        Instant now = clock.instant();
        if (now.isBefore(nextCheck)) {
            return;
        }
        nextCheck = now.plus(CHECK_EVERY);
        Optional<String> why = unresponsive();
        if (why.isEmpty()) {
            return;
        }
        ioThread = null; // not reported again before the next producer is watched
        pending.clear();
        found = true;
        int n = inARow.incrementAndGet();
        String reason = "the Kafka producer stopped answering (" + why.get() + ")" + limitNote();
        wedged = reason;
        LOG.error("{}; making the Kafka clients again and redoing the records after the last commit ({} in a row)",
                reason, n);
        throw new OutputSink.FatalClientException(reason, null);
    }

    /** What the output topics' limits say about the wedge: each topic whose limit is below the producer's batch.size. */
    private String limitNote() {
        int batch = batchSize;
        List<OutputTopicLimits.Limit> below = limits.get().stream().filter(l -> l.bytes() < batch).toList();
        if (below.isEmpty()) {
            return "";
        }
        return "; " + below.stream().map(l -> "topic " + l.topic() + " takes records of at most " + l.bytes() + " bytes")
                .collect(Collectors.joining(", ")) + " (max.message.bytes), less than the producer's batch.size " + batch
                + ": a refused batch is split and retried without end (KAFKA-8350); the clients are made again with"
                + " batch.size capped to " + below.get(0).bytes();
    }

    /**
     * How long the pipeline gives the watched producer to close: nothing once {@link #check} found it
     * wedged (a graceful close would wait on it, or deliver what it holds after the records are redone),
     * else {@code otherwise}.
     */
    Duration closeWithin(Duration otherwise) {
        return found ? Duration.ZERO : otherwise;
    }

    /** For {@code /readyz}: the last wedged producer's cause, until a producer answers a send. */
    Optional<String> notReadyReason() {
        return Optional.ofNullable(wedged);
    }

    /** For {@code /healthz}: down once {@link #GIVE_UP} producers in a row stopped answering. */
    Optional<String> deadReason() {
        int n = inARow.get();
        String w = wedged;
        return n < GIVE_UP || w == null ? Optional.empty() : Optional.of(n + " Kafka producers in a row stopped"
                + " answering, the clients made again after each, no send answered between; the last: " + w);
    }
}
