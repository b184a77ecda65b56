package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.NetnsDescriptors;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.TestCgroup;
import dev.netfence.testkit.UnsharedSleeper;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Pinning by descriptor against the real kernel: a {@code sleep} in a private network namespace
 * ({@code unshare --net}) stands in for the container. The pin must lead to that namespace
 * through netfence's own {@code /proc/PID/fd/N} after the process is gone, concurrent pins of one
 * namespace must each hold a descriptor of their own, another descriptor of the same namespace
 * must never be taken for the pin's (the search used without libc refuses rather than guess),
 * and every pin, refused or released, must give its descriptor back.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ProcNamespacePinnerKernelTest {
    private final ProcNamespacePinner pinner =
            new ProcNamespacePinner(new ContainerPidLookup(new ProcessCommandRunner(), Clock.systemUTC()), Path.of("/proc"),
                    true);
    private UnsharedSleeper sleeper;
    private Process container;
    private NamespaceId namespace;

    @BeforeEach
    void startContainer() throws Exception {
        sleeper = UnsharedSleeper.start();
        container = sleeper.process();
        namespace = sleeper.namespace();
    }

    @AfterEach
    void stopContainer() throws Exception {
        if (sleeper != null) {
            sleeper.close();
        }
    }

    @Test
    void aPinLeadsToTheNamespaceThroughNetfencesOwnDescriptorEvenAfterTheProcessExits() throws Exception {
        int before = NetnsDescriptors.open();
        PinnedNamespace pin = pinner.pin((int) container.pid(), null, null, deadline());

        assertThat(pin.path().toString()).startsWith("/proc/" + ProcessHandle.current().pid() + "/fd/");
        assertThat(pin.id()).isEqualTo(namespace);
        assertThat(NamespaceId.of(pin.path())).isEqualTo(namespace);
        assertThat(pin.occupied()).isTrue();
        assertThat(NetnsDescriptors.open()).isEqualTo(before + 1);

        container.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        assertThat(pin.occupied()).as("the process is gone").isFalse();
        assertThat(NamespaceId.of(pin.path())).as("the descriptor still holds the namespace").isEqualTo(namespace);
        assertThat(Sh.ok("nsenter", "--net=" + pin.path(), "--", "readlink", "/proc/self/ns/net").strip())
                .isEqualTo("net:[" + namespace.inode() + "]");

        pin.close();
        pin.close();

        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void askedForTheInterfacesThePinReadsWhetherTheNamespaceHasOnlyLoopbackWhileItConfirmsThePid() throws Exception {
        int pid = (int) container.pid();
        try (PinnedNamespace pin = pinner.pin(pid, null, null, null, deadline(), true)) {
            assertThat(pin.onlyLoopback()).as("unshare --net: lo alone").isTrue();
        }
        Sh.ok("nsenter", "--net=/proc/" + pid + "/ns/net", "--", "ip", "link", "add", "nfpin0", "type", "veth", "peer", "name", "nfpin1");

        try (PinnedNamespace pin = pinner.pin(pid, null, null, null, deadline(), true)) {
            assertThat(pin.onlyLoopback()).as("a veth pair beside lo").isFalse();
            assertThat(pin.id()).isEqualTo(namespace);
        }
        try (PinnedNamespace pin = pinner.pin(pid, null, null, null, deadline(), false)) {
            assertThat(pin.onlyLoopback()).as("not asked: not read").isNull();
        }
    }

    @Test
    void pinsOfOneNamespaceTakenConcurrentlyEachHoldADescriptorOfTheirOwn() throws Exception {
        int before = NetnsDescriptors.open();
        int threads = 8;
        CyclicBarrier barrier = new CyclicBarrier(threads);
        Set<Path> heldTogether = ConcurrentHashMap.newKeySet();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int round = 0; round < 10; round++) {
                        try (PinnedNamespace pin = pinner.pin((int) container.pid(), null, null, deadline())) {
                            assertThat(NamespaceId.of(pin.path())).isEqualTo(namespace);
                            heldTogether.add(pin.path());
                            barrier.await(30, TimeUnit.SECONDS);
                            assertThat(heldTogether).as("pins held at the same time").hasSize(threads);
                            assertThat(NamespaceId.of(pin.path())).isEqualTo(namespace);
                            barrier.await(30, TimeUnit.SECONDS);
                            heldTogether.remove(pin.path());
                        }
                        barrier.await(30, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void aDescriptorOfTheSameNamespaceOpenedBehindThePinnersBackIsNeverTakenForThePinsOwn() throws Exception {
        assertThat(NativeDescriptors.libc()).as("libc through JNA").isPresent();
        int before = NetnsDescriptors.open();
        try (FileChannel foreign = FileChannel.open(nsLink(), StandardOpenOption.READ)) {
            PinnedNamespace pin = pinner.pin((int) container.pid(), null, null, deadline());
            assertThat(NetnsDescriptors.open()).isEqualTo(before + 2);
            foreign.close(); // the other descriptor goes: the pin still holds its own
            assertThat(NamespaceId.of(pin.path())).isEqualTo(namespace);
            assertThat(Sh.ok("nsenter", "--net=" + pin.path(), "--", "readlink", "/proc/self/ns/net").strip())
                    .isEqualTo("net:[" + namespace.inode() + "]");
            pin.close();
        }
        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void withoutLibcTheSearchRefusesADescriptorItCannotTellFromAnotherRatherThanGuess() throws Exception {
        int before = NetnsDescriptors.open();
        String self = NamespaceHandle.self(Path.of("/proc"));
        try (FileChannel foreign = FileChannel.open(nsLink(), StandardOpenOption.READ)) {
            assertThatThrownBy(() -> NamespaceHandle.openBySearch(Path.of("/proc"), self, nsLink(), namespace))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot tell which one is ours");
            assertThat(NetnsDescriptors.open()).isEqualTo(before + 1);
        }
        try (NamespaceHandle handle = NamespaceHandle.openBySearch(Path.of("/proc"), self, nsLink(), namespace).orElseThrow()) {
            assertThat(NamespaceId.of(handle.path())).isEqualTo(namespace);
            assertThat(handle.path().toString()).isEqualTo("/proc/" + ProcessHandle.current().pid() + "/fd/"
                    + handle.descriptor());
        }
        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void aNativeHandleIsTheDescriptorOpenReturnedAndLeadsToTheExpectedNamespaceOrIsRefused() throws Exception {
        int before = NetnsDescriptors.open();
        String self = NamespaceHandle.self(Path.of("/proc"));
        NativeDescriptors.Libc libc = NativeDescriptors.libc().orElseThrow();
        try (NamespaceHandle handle = NamespaceHandle.openNative(libc, Path.of("/proc"), self, nsLink(), namespace)
                .orElseThrow()) {
            assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + handle.descriptor())).toString())
                    .isEqualTo("net:[" + namespace.inode() + "]");
        }
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        assertThat(NamespaceHandle.openNative(libc, Path.of("/proc"), self, nsLink(), own))
                .as("a namespace other than the expected one").isEmpty();
        assertThatThrownBy(() -> NamespaceHandle.openNative(libc, Path.of("/proc"), self,
                Path.of("/proc/999999999/ns/net"), namespace)).isInstanceOf(java.nio.file.NoSuchFileException.class);
        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void everyRefusalGivesTheDescriptorBack() throws Exception {
        int before = NetnsDescriptors.open();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor(10, TimeUnit.SECONDS);

        assertRefused(() -> pinner.pin((int) ProcessHandle.current().pid(), null, null, deadline()),
                ErrorCode.HOST_NAMESPACE_REFUSED);
        assertRefused(() -> pinner.pin(1, null, null, deadline()), ErrorCode.HOST_NAMESPACE_REFUSED);
        assertRefused(() -> pinner.pin((int) gone.pid(), null, null, deadline()), ErrorCode.CONTAINER_NOT_FOUND);
        assertRefused(() -> pinner.pin((int) container.pid(), "not-this-container-4711", null, deadline()),
                ErrorCode.NAMESPACE_MISMATCH);

        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    @Test
    void theCgroupCheckAcceptsOnlyTheWholeIdInARuntimesCgroupNotAPartOfThePath() throws Exception {
        String id = randomId();
        try (TestCgroup cgroup = TestCgroup.create("libpod-" + id)) {
            cgroup.add(container.pid());
            String text = Files.readString(Path.of("/proc/" + container.pid() + "/cgroup"));
            assertThat(text).contains("/libpod-" + id);

            try (PinnedNamespace pin = pinner.pin((int) container.pid(), id, null, deadline())) {
                assertThat(pin.id()).isEqualTo(namespace);
            }
            // each of these is a substring of the cgroup file, which the old check accepted
            for (String partOfThePath : List.of("s", "0", "libpod", id.substring(0, 12), id.substring(1), "libpod-" + id)) {
                assertThat(text).contains(partOfThePath);
                assertRefused(() -> pinner.pin((int) container.pid(), partOfThePath, null, deadline()),
                        ErrorCode.NAMESPACE_MISMATCH);
            }
            container.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String randomId() {
        byte[] bytes = new byte[32];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    private static void assertRefused(ThrowingCallable pin, ErrorCode code) {
        assertThatThrownBy(pin).isInstanceOfSatisfying(EnforcementException.class,
                e -> assertThat(e.code()).isEqualTo(code));
    }

    private Path nsLink() {
        return Path.of("/proc/" + container.pid() + "/ns/net");
    }

    private static Instant deadline() {
        return Instant.now().plusSeconds(20);
    }
}
