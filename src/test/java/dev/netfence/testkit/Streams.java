package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The flush tests' shared parts: a policy that allows only some ports of one peer address, and
 * the check that flows opened before an apply are judged by its rules, on the streams a test
 * opened with an {@link Agent} ({@code stream open NAME ...}): one second after the outcome the
 * forbidden ones get no more echoes for 1.5 s, and the allowed one goes on (or, under a
 * quarantine, stops too).
 */
public final class Streams {
    private Streams() {}

    /** Echoes (or bytes) received so far on {@code agent}'s stream {@code name}. */
    public static long count(Agent agent, String name) throws Exception {
        return Long.parseLong(agent.send("stream count " + name));
    }

    /**
     * Waits until each of {@code agent}'s streams {@code names} has had an echo (or bytes): usually
     * within milliseconds of opening it, but both ends are JVMs of their own running first-time
     * code, on two cores the other test JVM's kernel tests share, so not a fixed half second.
     */
    public static void awaitFlowing(Agent agent, String... names) {
        for (String name : names) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(agent, name))
                    .as("%s flows before the apply", name).isPositive());
        }
    }

    /**
     * Waits 1 s from now (the outcome), then checks over 1.5 s that the {@code forbidden} streams
     * get nothing more and {@code allowed} (null: none) gets more, or nothing when
     * {@code allowedGoesOn} is false.
     */
    public static void assertForbiddenStopAndAllowedGoesOn(Agent agent, List<String> forbidden, String allowed,
            boolean allowedGoesOn) throws Exception {
        Thread.sleep(1000);
        long[] before = new long[forbidden.size()];
        for (int i = 0; i < before.length; i++) {
            before[i] = count(agent, forbidden.get(i));
        }
        long allowedBefore = allowed == null ? 0 : count(agent, allowed);
        Thread.sleep(1500);
        for (int i = 0; i < before.length; i++) {
            assertThat(count(agent, forbidden.get(i))).as("echoes on the forbidden stream %s more than 1 s after the"
                    + " outcome", forbidden.get(i)).isEqualTo(before[i]);
        }
        if (allowed != null && allowedGoesOn) {
            assertThat(count(agent, allowed)).as("echoes on the allowed stream %s", allowed).isGreaterThan(allowedBefore);
        } else if (allowed != null) {
            assertThat(count(agent, allowed)).as("echoes on %s under the quarantine", allowed).isEqualTo(allowedBefore);
        }
    }

    /** A bridge policy allowing only {@code host} at each of {@code ports} ({@code 80/tcp}), nothing else. */
    public static NetworkPolicy allowingOnly(String host, String... ports) {
        StringBuilder endpoints = new StringBuilder();
        for (String port : ports) {
            endpoints.append(endpoints.length() == 0 ? "" : ",").append('"').append(host).append(':').append(port)
                    .append('"');
        }
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[" + endpoints
                + "],\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    }
}
