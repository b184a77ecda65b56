package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.netfence.netns.NativeDescriptors;
import dev.netfence.testkit.KernelTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ContextSockets} against the installed libnftables and the real kernel (a context opens
 * its netlink socket in netfence's own namespace and changes nothing there): the socket of a real
 * context is found, the layout is refused where it does not hold, a context's socket takes no
 * message from another socket, and {@link NftContext#close} frees the context at once and leaves
 * only a copy of its socket, above 1023, to the closer. Sockets are told apart by their inode
 * ({@code /proc/self/fd}), not by number: another thread may reuse a number meanwhile.
 */
@ExtendWith(KernelTests.class)
class ContextSocketsKernelTest {
    private final NativeCalls natives = NativeCalls.load();
    private final SendTo libc = Native.load("c", SendTo.class);

    /** {@code sendto(2)}, which the backend itself never calls. */
    interface SendTo extends com.sun.jna.Library {
        int sendto(int fd, byte[] buffer, long length, int flags, byte[] address, int addressLength)
                throws LastErrorException;
    }

    /** What descriptor {@code fd} refers to ({@code socket:[inode]}), or null when it is not open. */
    private static String target(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** The descriptors of this process that refer to {@code target}. */
    private static List<Integer> descriptorsOf(String target) throws java.io.IOException {
        List<Integer> out = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) fds::iterator) {
                int fd = Integer.parseInt(p.getFileName().toString());
                if (target.equals(target(fd))) {
                    out.add(fd);
                }
            }
        }
        return out;
    }

    @Test
    void theSocketFoundIsTheOneTheContextClosesWhenFreed() {
        Pointer ctx = natives.nftables.nft_ctx_new(0);
        int fd;
        String socket;
        try {
            fd = new ContextSockets(natives.libc).of(ctx);
            assertThat(fd).isNotNegative();
            socket = target(fd);
            assertThat(socket).startsWith("socket:[");
        } finally {
            natives.nftables.nft_ctx_free(ctx);
        }
        assertThat(target(fd)).as("the free closed it (or its number now names something else)").isNotEqualTo(socket);
    }

    @Test
    void aContextWhoseFirstMemberIsNoNetlinkSocketIsRefusedForGood() {
        ContextSockets sockets = new ContextSockets(natives.libc);
        Memory notASocket = new Memory(16);
        notASocket.clear();
        notASocket.setInt(0, 0); // descriptor 0: not a netlink socket
        Memory fake = new Memory(Native.POINTER_SIZE);
        fake.setPointer(0, notASocket);

        assertThat(sockets.of(fake)).isEqualTo(-1);
        Pointer real = natives.nftables.nft_ctx_new(0);
        try {
            assertThat(sockets.of(real)).as("refused for good once the check failed").isEqualTo(-1);
        } finally {
            natives.nftables.nft_ctx_free(real);
        }
    }

    @Test
    void aFirstMemberOutsideTheReadableMappingsListedIsRefused(@TempDir Path dir) throws Exception {
        Path maps = dir.resolve("maps");
        Files.writeString(maps, "00001000-00002000 r--p 00000000 00:00 0\n");
        ContextSockets sockets = new ContextSockets(natives.libc, maps);
        Pointer real = natives.nftables.nft_ctx_new(0);
        try {
            assertThat(sockets.of(real)).isEqualTo(-1);
        } finally {
            natives.nftables.nft_ctx_free(real);
        }
    }

    @Test
    void aContextsSocketTakesNoMessageFromAnotherSocketInItsNamespace() throws Exception {
        ContextSockets sockets = new ContextSockets(natives.libc);
        NftContext context = new NftContext(natives.nftables, sockets, Closer.INLINE);
        int forger = natives.libc.socket(NativeCalls.AF_NETLINK, NativeCalls.SOCK_RAW | NativeCalls.SOCK_CLOEXEC,
                NativeCalls.NETLINK_NETFILTER);
        try {
            assertThat(context.run("list tables").ok()).isTrue();
            byte[] address = new byte[12];
            natives.libc.getsockname(context.socket(), address, new int[] {address.length});
            int port = java.nio.ByteBuffer.wrap(address).order(java.nio.ByteOrder.nativeOrder()).getInt(4);
            assertThat(port).as("bound by its first request").isNotZero();
            byte[] to = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.nativeOrder())
                    .putShort((short) NativeCalls.AF_NETLINK).putShort((short) 0).putInt(port).putInt(0).array();
            byte[] forged = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.nativeOrder())
                    .putInt(16).putShort((short) 3).putShort((short) 0).putInt(1).putInt(port).array(); // NLMSG_DONE

            assertThatThrownBy(() -> libc.sendto(forger, forged, forged.length, 0, to, to.length))
                    .isInstanceOf(LastErrorException.class)
                    .satisfies(e -> assertThat(((LastErrorException) e).getErrorCode()).isEqualTo(111)); // ECONNREFUSED
        } finally {
            natives.libc.close(forger);
            context.close();
        }
    }

    @Test
    void closingAContextFreesItAtOnceAndHandsOnlyACopyOfItsSocketAbove1023ToTheCloser() throws Exception {
        ContextSockets sockets = new ContextSockets(natives.libc);
        List<Runnable> handed = new ArrayList<>();
        Closer recording = handed::add;
        NftContext context = new NftContext(natives.nftables, sockets, recording);
        assertThat(context.run("list tables").ok()).isTrue();
        int own = context.socket();
        String socket = target(own);
        assertThat(socket).startsWith("socket:[");

        context.close();

        List<Integer> holders = descriptorsOf(socket);
        assertThat(holders).as("only the copy holds the socket, above 1023").hasSize(1)
                .allSatisfy(fd -> assertThat(fd).isGreaterThanOrEqualTo(NativeDescriptors.SELECT_LIMIT));
        assertThat(handed).hasSize(1);
        handed.forEach(Runnable::run);
        assertThat(descriptorsOf(socket)).as("the closer's run closed the copy").isEmpty();
    }
}
