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
 * Runs a kernel test class in the second lane ({@link KafkaLane}'s, under the same lock, so one
 * lane class at a time), beside the main lane's kernel and container classes. Only for classes
 * that use nothing but the namespaces, veths and processes they create themselves: no podman
 * container (its bridge traffic reaches the host guard's frame listeners), no host-side interface
 * or host guard, no lock of the machine held on purpose (the xtables lock), nothing of the test
 * JVM counted (its descriptors, threads, their namespaces, the shared in-process backend's
 * figures) and nothing held to a wall-clock budget tighter than a loaded machine keeps. A main-lane
 * class that counts what the JVM holds or holds a machine-wide lock is {@link RunsAlone}, so it
 * never runs beside a lane class. Why: the kernel tests mostly wait (on processes, timeouts and
 * probes that must not get through), so two of them overlap on two cores, and `.ci/run` stays
 * inside its time budget.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(KafkaLane.LOCK)
public @interface KernelLane {
}
