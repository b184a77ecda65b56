package dev.netfence.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A test class that changes what every class of the test JVM shares (restarts the broker, stalls
 * requests in its proxy, takes over {@code System.err} or the log format), or that holds a process
 * to a wall-clock budget. It runs in the main lane while no {@link KafkaLane} class runs.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ResourceLock(KafkaLane.LOCK)
public @interface RunsAlone {
}
