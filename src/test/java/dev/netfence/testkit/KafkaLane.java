package dev.netfence.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Runs a test class in the second lane, beside the main lane where every other class runs one
 * after another (src/test/resources/junit-platform.properties). Only for classes that need
 * nothing but the test JVM's broker and their own topics: no namespace, no rule, no container, no
 * host state, nothing measured in time. Lane classes take the lane's lock, so they run one at a
 * time and their methods in order; a class that changes what every class shares (restarts the
 * broker, stalls its proxy, takes over {@code System.err}) is {@link RunsAlone} and takes the same
 * lock from the main lane. Why: the Kafka tests mostly wait on the broker and on timeouts, the
 * kernel and container tests on processes, so the two lanes overlap on two cores and `.ci/run`
 * stays inside its time budget.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(KafkaLane.LOCK)
public @interface KafkaLane {
    /** The lock every lane class and every {@link RunsAlone} class holds for its whole run. */
    String LOCK = "netfence.kafka-lane";
}
