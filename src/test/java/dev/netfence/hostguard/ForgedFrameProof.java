package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.PodmanContainer;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * What the host guard's podman proofs with forged frames share: the frame scripts, written once
 * per class; the enforcer of the case's mode and the tap on the bridge, each closed after the case
 * (the enforcer releasing every guard it installed); and {@link #flushedSandbox}, a container with
 * a policy applied (guards as the mode gives them) whose in-namespace rules the workload then
 * flushed, as CAP_NET_ADMIN would, so the host side is all that stands between it and the bridge.
 * A subclass registers its own {@code PodmanContainers} and the kernel test extensions.
 */
abstract class ForgedFrameProof {
    /** The policy these proofs apply: no DNS, outbound and inbound closed. */
    static final String CLOSED = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":false,"
            + "\"inbound\":false}";
    static ForgedFrames.Scripts scripts;

    GuardedEnforcer enforcer;
    ForgedFrames.Tap tap;

    @BeforeAll
    static void writeTheScripts() throws IOException {
        scripts = ForgedFrames.Scripts.write();
    }

    @AfterAll
    static void removeThem() throws IOException {
        if (scripts != null) {
            scripts.close();
        }
    }

    @AfterEach
    void releaseGuardsAndTap() {
        if (tap != null) {
            tap.close();
        }
        if (enforcer != null) {
            enforcer.close();
        }
    }

    /** Applies {@code policy} to {@code container} with a new enforcer of {@code mode}, asserting its guards. */
    void applyAs(HostGuardMode mode, PodmanContainer container, String policy) {
        if (enforcer == null) {
            enforcer = GuardedEnforcer.create(mode);
        }
        assertThat(enforcer.apply(container, policy).guards()).isEqualTo(guards(mode));
    }

    /** {@link #applyAs}, then the workload flushes its in-namespace rules; the sandbox that sends its frames. */
    BindingSandbox flushedSandbox(HostGuardMode mode, PodmanContainer container, String policy) throws IOException {
        applyAs(mode, container, policy);
        HostGuardPodmanTest.flushInNamespaceRules(container);
        return new BindingSandbox(container, scripts.sender(), 0);
    }

    /** The guards an applied result reports under {@code mode}. */
    static List<String> guards(HostGuardMode mode) {
        return mode == HostGuardMode.AUTO ? List.of("netns", "host") : List.of("netns");
    }
}
