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
 * Runs a kernel integration test ({@code *IT}) in the second lane ({@link KafkaLane}'s, under the
 * same lock, so one lane class at a time) beside the main lane's. For a class that uses only the
 * namespaces, veths and processes it creates and whose checks no other class's work can fail: no
 * podman container, nothing of the test JVM counted, no wall-clock budget, no host state another
 * *IT changes (BenchScriptIT makes host-side veths and guard chains; the other *ITs' netfence runs
 * only sweep chains of vanished interfaces from netfence's host table). Not for the unit-test phase: there, the main lane's kernel classes count what the JVM
 * holds (descriptors, threads and their namespaces, the shared in-process backend's figures) and
 * each would have to be {@link RunsAlone}, which cost more than the lane gave (tried on
 * 2026-12-05), and JUnit refuses a lock on the invocations of a {@code @ParameterizedClass}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(KafkaLane.LOCK)
public @interface KernelLane {
}
