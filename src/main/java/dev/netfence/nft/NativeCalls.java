package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.netfence.netns.NativeDescriptors;

/**
 * The native functions the in-process backend calls, through JNA: libc's {@code setns}, {@code
 * open}, {@code close} and the netlink socket calls, and libnftables' context API. Loading
 * libnftables fails with an {@link UnsatisfiedLinkError} (or a {@link LinkageError}) when the
 * library is not installed; {@link #load()} lets that escape so the backend choice can fall back.
 */
public final class NativeCalls {
    static final int CLONE_NEWNET = 0x40000000;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_NETFILTER = 12;
    static final int MSG_DONTWAIT = 0x40;
    /** {@code NFT_CTX_OUTPUT_JSON} of libnftables' output flags. */
    static final int NFT_CTX_OUTPUT_JSON = 1 << 4;

    /** libc, errno reported as {@link LastErrorException}. */
    interface Libc extends NativeDescriptors.Libc {
        int setns(int fd, int nstype) throws LastErrorException;

        int unshare(int flags) throws LastErrorException;

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int send(int fd, byte[] buffer, long length, int flags) throws LastErrorException;

        int recv(int fd, byte[] buffer, long length, int flags) throws LastErrorException;
    }

    /** libnftables.so.1: the API {@code nft} itself is built on. */
    interface LibNftables extends Library {
        Pointer nft_ctx_new(int flags);

        void nft_ctx_free(Pointer ctx);

        int nft_ctx_buffer_output(Pointer ctx);

        int nft_ctx_buffer_error(Pointer ctx);

        String nft_ctx_get_output_buffer(Pointer ctx);

        String nft_ctx_get_error_buffer(Pointer ctx);

        void nft_ctx_output_set_flags(Pointer ctx, int flags);

        int nft_run_cmd_from_buffer(Pointer ctx, String buffer);
    }

    final Libc libc;
    final LibNftables nftables;

    private NativeCalls(Libc libc, LibNftables nftables) {
        this.libc = libc;
        this.nftables = nftables;
    }

    /** Loads libc and libnftables.so.1; throws {@link LinkageError} when either is missing. */
    public static NativeCalls load() {
        Libc libc = Native.load("c", Libc.class);
        LibNftables nftables = Native.load("libnftables.so.1", LibNftables.class);
        return new NativeCalls(libc, nftables);
    }
}
