package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.policy.Family;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.Python;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hook's two halves without a runtime: the shipped script ({@code scripts/netfence-hook})
 * against the service's socket, its answers as exit codes, its fail-closed refusal when nobody
 * listens, and its fallback quarantine text equal to what netfence renders.
 */
class HookServerTest {
    private static final Path SCRIPT = Path.of("scripts", "netfence-hook");
    private static final String STATE = "{\"ociVersion\":\"1.0.2\",\"id\":\"3f9a0c2d8e1b\",\"status\":\"creating\","
            + "\"pid\":31800,\"bundle\":\"/b\",\"annotations\":{\"netfence.runtime\":\"podman\"}}";

    @TempDir
    Path dir;

    @Test
    void theScriptHandsTheStateToTheServiceAndExitsZeroWhenFenced() throws Exception {
        List<HookServer.Request> seen = new CopyOnWriteArrayList<>();
        Path socket = dir.resolve("hook.sock");
        try (HookServer server = HookServer.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "failed");
        })) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(runHook(socket, STATE)).isZero();
        }
        assertThat(seen).containsExactly(new HookServer.Request("3f9a0c2d8e1b", 31800, "podman"));
    }

    @Test
    void aStateWithLargeAnnotationsIsFencedTheServiceGetsOnlyWhatItReads() throws Exception {
        // a pod's annotations copied into the state (kubectl's last-applied-configuration): over 64 KiB
        String big = STATE.replace("\"annotations\":{", "\"annotations\":{\"last-applied\":\"" + "x".repeat(200_000)
                + "\",");
        List<HookServer.Request> seen = new CopyOnWriteArrayList<>();
        Path socket = dir.resolve("hook.sock");
        try (HookServer server = HookServer.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "applied");
        })) {
            assertThat(runHook(socket, big)).isZero();
        }
        assertThat(seen).containsExactly(new HookServer.Request("3f9a0c2d8e1b", 31800, "podman"));
    }

    @Test
    void aStateWhosePidOrIdHasTheWrongTypeIsRefusedWithoutAskingTheService() throws Exception {
        List<HookServer.Request> seen = new CopyOnWriteArrayList<>();
        Path socket = dir.resolve("hook.sock");
        try (HookServer server = HookServer.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "applied");
        })) {
            assertThat(runHook(socket, STATE.replace("\"pid\":31800", "\"pid\":\"31800\""))).isEqualTo(1);
            assertThat(runHook(socket, STATE.replace("\"pid\":31800", "\"pid\":31800.7"))).isEqualTo(1);
            assertThat(runHook(socket, STATE.replace("\"id\":\"3f9a0c2d8e1b\"", "\"id\":null"))).isEqualTo(1);
        }
        assertThat(seen).as("none forwarded, none coerced").isEmpty();
    }

    @Test
    void aRefusalByTheServiceIsExitOne() throws Exception {
        Path socket = dir.resolve("hook.sock");
        try (HookServer server = HookServer.start(socket, r -> new HookServer.Answer(false, "HOST_NAMESPACE_REFUSED"))) {
            assertThat(runHook(socket, STATE)).isEqualTo(1);
        }
    }

    @Test
    void withNobodyListeningTheDefaultIsToRefuse() throws Exception {
        assertThat(runHook(dir.resolve("absent.sock"), STATE)).isEqualTo(1);
    }

    @Test
    void aStateWithoutAValidIdOrPidIsRefusedByTheServer() {
        assertThatThrownBy(() -> HookServer.parse("{\"id\":\"../x\",\"pid\":5}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("no valid id");
        assertThatThrownBy(() -> HookServer.parse("{\"id\":\"abc\",\"pid\":1}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("no valid pid");
        assertThatThrownBy(() -> HookServer.parse("[]".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("not a JSON object");
    }

    @Test
    void aRuntimeAnnotationIsTakenOnlyWhenItNamesAKnownRuntime() {
        assertThat(HookServer.parse(STATE.getBytes(StandardCharsets.UTF_8)).runtime()).isEqualTo("podman");
        String odd = STATE.replace("\"podman\"", "\"" + "x".repeat(1000) + "\"");
        assertThat(HookServer.parse(odd.getBytes(StandardCharsets.UTF_8)).runtime()).isNull();
        String object = STATE.replace("\"podman\"", "{\"a\":1}");
        assertThat(HookServer.parse(object.getBytes(StandardCharsets.UTF_8)).runtime()).isNull();
        String none = "{\"ociVersion\":\"1.0.2\",\"id\":\"3f9a0c2d8e1b\",\"status\":\"creating\",\"pid\":31800,\"bundle\":\"/b\"}";
        assertThat(HookServer.parse(none.getBytes(StandardCharsets.UTF_8)))
                .as("no annotations at all: the usual case").isEqualTo(new HookServer.Request("3f9a0c2d8e1b", 31800, null));
    }

    @Test
    void aConnectionThatNeverFinishesItsRequestIsRefusedAndFreesItsWorker() throws Exception {
        java.util.List<HookServer.Request> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        Path socket = dir.resolve("slow.sock");
        try (HookServer server = HookServer.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "applied");
        }, java.time.Duration.ofMillis(300))) {
            java.util.List<java.nio.channels.SocketChannel> hung = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 5; i++) { // more than the four workers
                    java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(
                            java.net.UnixDomainSocketAddress.of(socket));
                    c.write(java.nio.ByteBuffer.wrap("{\"id\":".getBytes(StandardCharsets.UTF_8)));
                    hung.add(c);
                }
                for (java.nio.channels.SocketChannel c : hung) {
                    java.nio.ByteBuffer reply = java.nio.ByteBuffer.allocate(512);
                    while (c.read(reply) >= 0) {
                        // until the server closes
                    }
                    assertThat(new String(reply.array(), 0, reply.position(), StandardCharsets.UTF_8))
                            .startsWith("{\"fenced\":false,\"error\":\"refused: request not complete within 300 ms");
                }
            } finally {
                for (java.nio.channels.SocketChannel c : hung) {
                    c.close();
                }
            }
            assertThat(runHook(socket, STATE)).as("a whole request is still served").isZero();
            assertThat(seen).singleElement().extracting(HookServer.Request::containerId).isNotNull();
        }
    }

    @Test
    void aClosingServerLeavesASocketAnotherServerBoundSinceInPlace() throws Exception {
        Path socket = dir.resolve("hook.sock");
        HookServer old = HookServer.start(socket, r -> new HookServer.Answer(true, "old"));
        Files.delete(socket); // the path freed under it: a new instance binds it while the old still runs
        try (HookServer fresh = HookServer.start(socket, r -> new HookServer.Answer(true, "fresh"))) {
            old.close();

            assertThat(socket).exists();
            assertThat(runHook(socket, STATE)).as("the new instance still answers").isZero();
        }
        assertThat(socket).as("and its own close removes its file").doesNotExist();
    }

    @Test
    void aSocketTakenAtStartIsServedOnceTheOtherInstanceLeaves() throws Exception {
        Path socket = dir.resolve("hook.sock");
        List<HookServer.Request> seen = new CopyOnWriteArrayList<>();
        HookServer old = HookServer.start(socket, r -> new HookServer.Answer(false, "old instance"));
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (HookServing serving = HookServing.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "applied");
        }, java.time.Duration.ofMillis(100), registry)) {
            assertThat(serving.serving()).isFalse();
            assertThat(registry.get("netfence.hook.serving").gauge().value()).isZero();
            assertThat(runHook(socket, STATE)).as("the old instance answers meanwhile").isEqualTo(1);

            old.close();

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(serving::serving);
            assertThat(registry.get("netfence.hook.serving").gauge().value()).isEqualTo(1.0);
            assertThat(runHook(socket, STATE)).isZero();
            assertThat(seen).containsExactly(new HookServer.Request("3f9a0c2d8e1b", 31800, "podman"));
        }
        assertThat(socket).doesNotExist();
    }

    @Test
    void aSocketFileRemovedOrReplacedUnderTheServerIsTakenAgainOnceFree() throws Exception {
        Path socket = dir.resolve("hook.sock");
        try (HookServing serving = HookServing.start(socket, r -> new HookServer.Answer(true, "applied"),
                java.time.Duration.ofMillis(100))) {
            assertThat(serving.serving()).isTrue();
            Files.delete(socket); // e.g. an old instance's close on a filesystem that gave the new file its inode again

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> Files.exists(socket) && serving.serving());
            assertThat(runHook(socket, STATE)).as("served again").isZero();

            // another instance's socket put in its place (renamed over it in one step): this one gives the path up
            HookServer other = HookServer.start(dir.resolve("other.sock"), r -> new HookServer.Answer(false, "other"));
            Files.move(dir.resolve("other.sock"), socket, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !serving.serving());
            assertThat(runHook(socket, STATE)).as("the other instance answers").isEqualTo(1);
            other.close();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(serving::serving);
            assertThat(runHook(socket, STATE)).isZero();
        }
    }

    @Test
    void anInstanceStandingByGivesTheSocketUpToTheOneThatEnforcesAndTakesItAgainOnlyOnceFree() throws Exception {
        Path socket = dir.resolve("hook.sock");
        try (HookServing fenced = HookServing.start(socket, r -> new HookServer.Answer(false, "stood by"),
                java.time.Duration.ofMillis(100))) {
            assertThat(fenced.serving()).isTrue();

            fenced.standingBy(true); // another instance of the node fenced this one

            assertThat(fenced.serving()).isFalse();
            assertThat(socket).as("given up: the enforcing instance takes it within its retry").doesNotExist();
            Thread.sleep(300);
            assertThat(socket).as("not taken again while standing by").doesNotExist();
            try (HookServer enforcing = HookServer.start(socket, r -> new HookServer.Answer(true, "applied"))) {
                assertThat(runHook(socket, STATE)).as("the enforcing instance answers").isZero();

                fenced.standingBy(false);
                Thread.sleep(300);
                assertThat(fenced.serving()).as("joined again, but the path is the other's").isFalse();
                assertThat(runHook(socket, STATE)).isZero();
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(fenced::serving);
            assertThat(runHook(socket, STATE)).as("taken again once free").isEqualTo(1);
        }
    }

    @Test
    void anInstanceFencedBeforeItsHookWasServedDoesNotTakeTheSocketUntilItJoinsAgain() throws Exception {
        Path socket = dir.resolve("hook.sock");
        try (HookServing fenced = HookServing.start(socket, r -> new HookServer.Answer(true, "applied"),
                java.time.Duration.ofMillis(100), null, true)) {
            Thread.sleep(300);
            assertThat(fenced.serving()).isFalse();
            assertThat(socket).doesNotExist();

            fenced.standingBy(false);

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(fenced::serving);
            assertThat(runHook(socket, STATE)).isZero();
        }
    }

    @Test
    void connectionsStillWaitingForAWorkerWhenTheServerClosesAreEndedNotLeftOpen() throws Exception {
        Path socket = dir.resolve("busy.sock");
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger busy = new java.util.concurrent.atomic.AtomicInteger();
        HookServer server = HookServer.start(socket, r -> {
            busy.incrementAndGet();
            try {
                release.await(); // the four workers stay busy until interrupted by the close
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new HookServer.Answer(false, "closing");
        });
        java.util.List<java.nio.channels.SocketChannel> clients = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) { // four served, two waiting in the queue
                java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(
                        java.net.UnixDomainSocketAddress.of(socket));
                c.write(java.nio.ByteBuffer.wrap(STATE.getBytes(StandardCharsets.UTF_8)));
                c.shutdownOutput();
                clients.add(c);
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> busy.get() == 4);

            server.close();

            for (java.nio.channels.SocketChannel c : clients) {
                java.nio.ByteBuffer reply = java.nio.ByteBuffer.allocate(512);
                long until = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
                c.configureBlocking(false); // a connection left open must fail the test, not hang it
                int n = 0;
                try {
                    while (n != -1 && System.nanoTime() < until) {
                        n = c.read(reply); // an answer of a busy worker, or nothing: then the end
                        if (n == 0) {
                            Thread.sleep(20);
                        }
                    }
                } catch (java.net.SocketException reset) { // closed with the request unread: also the end
                    n = -1;
                }
                assertThat(n).as("every connection ends with the server").isEqualTo(-1);
            }
        } finally {
            release.countDown();
            for (java.nio.channels.SocketChannel c : clients) {
                c.close();
            }
        }
    }

    @Test
    void aRetryThatIsNotPositiveIsRefused() {
        assertThatThrownBy(() -> HookServing.start(dir.resolve("h.sock"), r -> null, java.time.Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("retry must be positive, was: PT0S");
    }

    @Test
    void theScriptsFallbackQuarantineIsExactlyWhatNetfenceRenders() throws IOException {
        String script = Files.readString(SCRIPT);
        var quarantine = new RulePlanner().quarantine();
        RestoreRenderer renderer = new RestoreRenderer();
        assertThat(embedded(script, "iptables-restore"))
                .isEqualTo(renderer.render(quarantine.forFamily(Family.IPV4), true));
        assertThat(embedded(script, "ip6tables-restore"))
                .isEqualTo(renderer.render(quarantine.forFamily(Family.IPV6), true));
        String start = "QUARANTINE_NFT = \"\"\"";
        int from = script.indexOf(start) + start.length();
        assertThat(script.substring(from, script.indexOf("\"\"\"", from)))
                .isEqualTo(new dev.netfence.nft.NftRenderer().render(quarantine));
    }

    private static String embedded(String script, String binary) {
        String start = "\"" + binary + "\": \"\"\"";
        int from = script.indexOf(start) + start.length();
        return script.substring(from, script.indexOf("\"\"\"", from));
    }

    private static int runHook(Path socket, String state) throws Exception {
        Process p = new ProcessBuilder(Python.EXE, SCRIPT.toString(), "--socket", socket.toString(), "--timeout", "10")
                .redirectErrorStream(true).start();
        p.getOutputStream().write(state.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }
}
