package dev.netfence.hostguard;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The few libc calls {@link Rtnetlink}'s netlink exchanges need; errno surfaces as {@link LastErrorException}.
 * Direct-mapped ({@code Native.register}): JNA's interface mapping looked each call up by
 * reflection and copied every array argument into a fresh native block with a cleaner (in a
 * perf profile of the enforcement benchmark, JNA's proxy dispatch was 3.4 % of netfence's CPU
 * samples and {@code malloc} 2.1 % on the worker threads; the host side is looked up on every
 * apply with {@code --host-guard auto}).
 */
final class RtnetlinkLibc {
    static {
        Native.register(RtnetlinkLibc.class, NativeLibrary.getInstance("c"));
    }

    private RtnetlinkLibc() {}

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int setsockopt(int fd, int level, int name, byte[] value, int length) throws LastErrorException;

    // size_t as long and ssize_t as int, as the nft backend's NativeCalls.Netlink declares them (a
    // 64-bit ABI; a datagram is far below 2 GiB): a NativeLong result was made by reflection on
    // every call (JNA's IntegerType.fromNative), a sixth of the host guard thread's samples
    static native int sendto(int fd, byte[] buffer, long length, int flags, byte[] address,
            int addressLength) throws LastErrorException;

    static native int recv(int fd, Pointer buffer, long length, int flags) throws LastErrorException;

    static native int open(String path, int flags) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;
}
