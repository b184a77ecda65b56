package dev.netfence.testkit;

import java.util.Arrays;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link SandboxNet} per test class, as a JUnit extension: created before the class's first
 * test with the peer listening on the given TCP ports, closed after its last test (also when a
 * test or the set-up failed). Register it as a static {@code @RegisterExtension} field after
 * {@code @ExtendWith({KernelTests.class, HostRulesetGuard.class})}: the gate runs first, and the
 * host-ruleset comparison runs after the sandbox is gone.
 */
public final class SandboxNetExtension implements BeforeAllCallback, AfterAllCallback {
    private final int[] peerPorts;
    private SandboxNet net;

    private SandboxNetExtension(int[] peerPorts) {
        this.peerPorts = peerPorts.clone();
    }

    /** A sandbox whose peer listens (TCP, both families) on {@code ports}. */
    public static SandboxNetExtension withPeerListening(int... ports) {
        return new SandboxNetExtension(ports);
    }

    /** The class's sandbox; only between its first and last test. */
    public SandboxNet net() {
        if (net == null) {
            throw new IllegalStateException("no sandbox: used outside the tests of the class that registers it");
        }
        return net;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (net != null) {
            return;
        }
        net = SandboxNet.create();
        for (int port : peerPorts) {
            net.peerListens(port);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (net != null) {
            net.close();
            net = null;
        }
    }

    @Override
    public String toString() {
        return "SandboxNetExtension" + Arrays.toString(peerPorts);
    }
}
