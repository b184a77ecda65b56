package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

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
 * context is found, the layout is refused where it does not hold, and {@link NftContext#close}
 * frees the context at once and leaves only a copy of its socket, above 1023, to the closer.
 */
@ExtendWith(KernelTests.class)
class ContextSocketsKernelTest {
    private static final int SOL_SOCKET = 1;
    private static final int SO_PROTOCOL = 38;
    private static final int F_GETFD = 1;
    private final NativeCalls natives = NativeCalls.load();

    private int protocolOf(int fd) {
        int[] value = {-1};
        natives.libc.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, value, new int[] {4});
        return value[0];
    }

    private boolean open(int fd) {
        try {
            natives.libc.fcntl(fd, F_GETFD, 0);
            return true;
        } catch (LastErrorException e) {
            return false;
        }
    }

    @Test
    void theSocketOfARealContextIsFoundAndIsItsNetfilterNetlinkSocket() {
        Pointer ctx = natives.nftables.nft_ctx_new(0);
        try {
            int fd = new ContextSockets(natives.libc).of(ctx);

            assertThat(fd).isNotNegative();
            assertThat(protocolOf(fd)).isEqualTo(NativeCalls.NETLINK_NETFILTER);
        } finally {
            natives.nftables.nft_ctx_free(ctx);
        }
    }

    @Test
    void aContextWhoseFirstMemberIsNoSocketIsRefusedAndNothingIsReadAfterwards() {
        ContextSockets sockets = new ContextSockets(natives.libc);
        Memory notASocket = new Memory(16);
        notASocket.clear();
        notASocket.setInt(0, 0); // descriptor 0: stdin, not a netlink socket
        notASocket.setShort(4, (short) NativeCalls.AF_NETLINK);
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
    void aFirstMemberOutsideEveryReadableMappingIsNeverDereferenced(@TempDir Path dir) throws Exception {
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
    void closingAContextFreesItAtOnceAndHandsOnlyACopyOfItsSocketAbove1023ToTheCloser() {
        ContextSockets sockets = new ContextSockets(natives.libc);
        List<Runnable> handed = new ArrayList<>();
        Closer recording = new Closer() {
            @Override
            public void close(Runnable close) {
                handed.add(close);
            }

            @Override
            public void closeSocket(int fd) {
                throw new AssertionError("a context hands a runnable, not a socket");
            }
        };
        NftContext context = new NftContext(natives.nftables, sockets, recording);
        assertThat(context.run("list tables").ok()).isTrue();
        int own = context.socket();
        assertThat(own).isNotNegative();
        int before = highNetfilterSockets();

        context.close();

        assertThat(open(own)).as("the context's own number is closed by the free").isFalse();
        assertThat(handed).hasSize(1);
        assertThat(highNetfilterSockets()).as("the copy waits above 1023").isEqualTo(before + 1);
        handed.forEach(Runnable::run);
        assertThat(highNetfilterSockets()).as("the closer's run closed the copy").isEqualTo(before);
    }

    private int highNetfilterSockets() {
        int n = 0;
        for (int fd = NativeDescriptors.SELECT_LIMIT; fd < NativeDescriptors.SELECT_LIMIT + 4096; fd++) {
            if (open(fd) && protocolOf(fd) == NativeCalls.NETLINK_NETFILTER) {
                n++;
            }
        }
        return n;
    }
}
