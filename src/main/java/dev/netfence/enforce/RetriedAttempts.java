package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.MeterNames;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs one attempt of an apply (or a quarantine) until it succeeds, fails permanently, runs out
 * of {@code max-attempts} or would start after its deadline, with resilience4j-retry's
 * exponential backoff and jitter, each wait capped by the time left. The first attempt runs
 * directly: building a resilience4j Retry (config, predicates, event processor) per event was a
 * tenth of the dry-run CPU in the benchmark, and almost every event succeeds at once. Only after
 * a retryable failure is the Retry built; its first call re-throws that failure without running
 * anything, so the attempt count, the backoff sequence and the retry metric
 * ({@code netfence.retries}, tag {@code code}) are exactly those of a Retry around every attempt.
 * Holds no per-call state; one instance serves all threads.
 */
final class RetriedAttempts {
    private final EnforcerConfig config;
    private final MeterRegistry registry;

    RetriedAttempts(EnforcerConfig config, MeterRegistry registry) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** Runs {@code attempt} as described above, counting every attempt started in {@code attempts}. */
    <T> T run(Deadline deadline, AtomicInteger attempts, Supplier<T> attempt) {
        Supplier<T> counted = () -> {
            int n = attempts.incrementAndGet();
            deadline.check(n == 1 ? "attempt 1" : "attempt " + n);
            return attempt.get();
        };
        EnforcementException first;
        try {
            return counted.get();
        } catch (EnforcementException e) {
            if (!e.retryable() || config.maxAttempts() <= 1) {
                throw e;
            }
            first = e;
        }
        AtomicBoolean replayed = new AtomicBoolean();
        return newRetry(deadline).executeSupplier(() -> {
            if (replayed.compareAndSet(false, true)) {
                throw first;
            }
            return counted.get();
        });
    }

    private Retry newRetry(Deadline deadline) {
        IntervalFunction backoff = IntervalFunction.ofExponentialRandomBackoff(config.backoffBase(), 2.0, 0.5,
                config.backoffMax());
        RetryConfig retryConfig = RetryConfig.custom()
                .maxAttempts(config.maxAttempts())
                .intervalFunction(n -> Math.max(1L, Math.min(backoff.apply(n), deadline.remaining().toMillis())))
                .retryOnException(e -> e instanceof EnforcementException ee && ee.retryable())
                .build();
        Retry retry = Retry.of("netfence-apply", retryConfig);
        retry.getEventPublisher().onRetry(event -> registry.counter(MeterNames.RETRIES, "code",
                event.getLastThrowable() instanceof EnforcementException ee ? ee.code().code() : "INTERNAL").increment());
        return retry;
    }
}
