package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import dev.netfence.nft.Ipv6Learnt.Address;
import dev.netfence.nft.Ipv6Learnt.Removals;
import dev.netfence.nft.Ipv6Learnt.Route;
import dev.netfence.netns.ProcFile;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Removes from the namespace the calling thread is in what router advertisements and redirects
 * taught its IPv6 stack before the rules that drop them were in force ({@link Ipv6Learnt} says
 * what that is): an advertisement's default route, route-information and on-link prefix routes and
 * autoconfigured addresses, and the cached routes a redirect made, each of which would otherwise
 * keep moving an allowed destination's traffic to the neighbour that sent it (a prefix route and
 * an address until their lifetimes end, which may be never; a redirect for a minute or so). Runs
 * at the end of every in-process connection-tracking flush ({@link ConntrackFlush}), on a namespace
 * thread while it is in the container's namespace, so after the rules are committed. First it
 * reads the namespace's ICMPv6 counters ({@code /proc/thread-self/net/snmp6}): when its kernel
 * never took an advertisement or a redirect there is nothing to remove, and that one read is all
 * (a namespace without IPv6 has no such file, and nothing to remove either). Otherwise, over a
 * {@code NETLINK_ROUTE} socket opened here, it dumps the IPv6 routes (with the cached ones), the
 * advertised prefixes' routes and the addresses, deletes what came from advertisements and
 * redirects (routes first, so that a cached route is looked for under the route that holds it),
 * and dumps again until a dump shows nothing left, at most {@link #ROUNDS} times. A cached route
 * that hangs under a second route of its prefix is not found by {@code RTM_DELROUTE} (the kernel
 * looks under the first only and reports success), so while cached routes remain it also has the
 * kernel age them out ({@code /proc/sys/net/ipv6/route/flush} with 1: every one unused for a
 * jiffy; also once before the first dump, for kernels whose dumps list no cached routes). A path
 * MTU's cached route is deleted too but may stay: it moves no traffic, and the kernel cannot reach
 * one under a second route before it expires. Returns 0 or an errno (E2BIG for a dump over
 * {@link #MAX_MESSAGES} messages, EBUSY when something is still there after the last round); never
 * logs. Limits: a namespace flooded with advertised prefixes (a dump over {@link #MAX_MESSAGES})
 * fails every apply closed until they expire; the kernel restarts an IPv6 route dump that a change
 * interrupts without marking it, so a dump taken while routes change may miss one, which the next
 * round's dump (or the next apply's) finds.
 */
final class Ipv6LearntFlush {
    static final int ROUNDS = 3;
    static final int MAX_MESSAGES = 65536;
    private static final Path SNMP6 = Path.of("/proc/thread-self/net/snmp6");
    private static final Path AGE_CACHED = Path.of("/proc/sys/net/ipv6/route/flush");
    private static final int ENOENT = 2;
    private static final int ESRCH = 3;
    private static final int EIO = 5;
    private static final int E2BIG = 7;
    private static final int EAGAIN = 11;
    private static final int EBUSY = 16;
    private static final int ENODEV = 19;
    private static final int EPROTO = 71;
    private static final int EADDRNOTAVAIL = 99;

    private final int fd;
    private final byte[] buffer = new byte[65536];
    private int sequence;

    private Ipv6LearntFlush(int fd) {
        this.fd = fd;
    }

    /** 0 when nothing taught by an advertisement or a redirect is left in the calling thread's namespace; otherwise an errno. */
    static int flush() {
        if (!heard()) {
            return 0;
        }
        int fd;
        try {
            fd = NativeCalls.Netlink.routeSocket();
        } catch (LastErrorException e) {
            return e.getErrorCode();
        }
        try {
            return new Ipv6LearntFlush(fd).rounds();
        } catch (LastErrorException e) {
            return e.getErrorCode() == 0 ? EAGAIN : e.getErrorCode();
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return EPROTO;
        } finally {
            try {
                NativeCalls.Netlink.close(fd);
            } catch (LastErrorException ignored) {
                // nothing useful to do with a failed close of a socket we only asked on
            }
        }
    }

    /** Whether the namespace's kernel took an advertisement or a redirect ever; true when its counters cannot be read. */
    static boolean heard() {
        String text;
        try {
            text = ProcFile.read(SNMP6, ProcFile.LIMIT);
        } catch (NoSuchFileException e) {
            // no such file in /proc/thread-self/net: a kernel without IPv6, nothing to remove; no such directory: look
            return !new File(SNMP6.toString()).getParentFile().isDirectory();
        } catch (IOException e) {
            return true;
        }
        return Ipv6Learnt.heard(text);
    }

    private int rounds() {
        // first of all: a kernel that lists no cached routes in a dump (before 5.3) still drops a redirect's this way
        int aged = ageCached();
        if (aged != 0) {
            return aged;
        }
        for (int round = 1; ; round++) {
            Dump<Route> routes = dump(Ipv6LearntMessages.routeDump(++sequence, 0), Ipv6LearntMessages.RTM_NEWROUTE,
                    Ipv6LearntMessages::route);
            Dump<Route> prefixes = routes.errno != 0 ? routes : dump(Ipv6LearntMessages.routeDump(++sequence,
                    Ipv6LearntMessages.RTM_F_PREFIX), Ipv6LearntMessages.RTM_NEWROUTE, Ipv6LearntMessages::route);
            Dump<Address> addresses = prefixes.errno != 0 ? new Dump<>(null, false, prefixes.errno)
                    : dump(Ipv6LearntMessages.addressDump(++sequence), Ipv6LearntMessages.RTM_NEWADDR,
                            Ipv6LearntMessages::address);
            if (addresses.errno != 0) {
                return addresses.errno;
            }
            Removals removals = Ipv6Learnt.removals(routes.items, prefixes.items, addresses.items);
            boolean interrupted = routes.interrupted || prefixes.interrupted || addresses.interrupted;
            if (removals.none() && !interrupted) {
                return 0;
            }
            if (round == ROUNDS) {
                return EBUSY;
            }
            int errno = remove(removals);
            if (errno != 0) {
                return errno;
            }
        }
    }

    private int remove(Removals removals) {
        int errno = deleteRoutes(removals.routes());
        if (errno == 0) {
            errno = deleteRoutes(removals.cached());
        }
        if (errno != 0) {
            return errno;
        }
        deleteRoutes(removals.pathMtu()); // best effort: it moves no traffic
        if (!removals.cached().isEmpty() || !removals.pathMtu().isEmpty()) {
            errno = ageCached();
            if (errno != 0) {
                return errno;
            }
        }
        for (Address a : removals.addresses()) {
            errno = ask(Ipv6LearntMessages.deleteAddress(a, ++sequence), EADDRNOTAVAIL, ENODEV);
            if (errno != 0) {
                return errno;
            }
        }
        return 0;
    }

    /** Deletes {@code routes} one by one (one already gone counts as deleted); 0, or the first errno. */
    private int deleteRoutes(List<Route> routes) {
        for (Route r : routes) {
            int errno = ask(Ipv6LearntMessages.deleteRoute(r, ++sequence), ESRCH, ENOENT);
            if (errno != 0) {
                return errno;
            }
        }
        return 0;
    }

    /** Has the kernel drop every cached route of the namespace unused for a jiffy; 0, or EIO. */
    static int ageCached() {
        try {
            ProcFile.write(AGE_CACHED, "1");
            return 0;
        } catch (IOException e) {
            return EIO;
        }
    }

    /** Sends one request and reads its acknowledgement: 0 or the errno, where {@code gone} (already gone) count as 0. */
    private int ask(byte[] request, int... gone) {
        int seq = send(request);
        while (true) {
            ByteBuffer in = receive();
            while (in.remaining() >= Ipv6LearntMessages.HEADER) {
                int start = in.position();
                int length = in.getInt(start);
                if (length < Ipv6LearntMessages.HEADER || start + length > in.limit()) {
                    return EPROTO;
                }
                if (in.getInt(start + 8) == seq && in.getShort(start + 4) == Ipv6LearntMessages.NLMSG_ERROR) {
                    int errno = Ipv6LearntMessages.errno(in, start, length);
                    for (int g : gone) {
                        if (errno == g) {
                            return 0;
                        }
                    }
                    return errno;
                }
                in.position(Math.min(in.limit(), start + Ipv6LearntMessages.align(length)));
            }
        }
    }

    /** The parsed messages of one dump (or an errno), and whether the kernel marked it interrupted. */
    private record Dump<T>(List<T> items, boolean interrupted, int errno) {}

    @FunctionalInterface
    private interface Parser<T> {
        T parse(ByteBuffer in, int start, int length);
    }

    private <T> Dump<T> dump(byte[] request, short type, Parser<T> parser) {
        int seq = send(request);
        List<T> items = new ArrayList<>();
        boolean interrupted = false;
        int messages = 0;
        while (true) {
            ByteBuffer in = receive();
            while (in.remaining() >= Ipv6LearntMessages.HEADER) {
                int start = in.position();
                int length = in.getInt(start);
                if (length < Ipv6LearntMessages.HEADER || start + length > in.limit()) {
                    return new Dump<>(null, interrupted, EPROTO);
                }
                if (in.getInt(start + 8) == seq) {
                    short got = in.getShort(start + 4);
                    interrupted |= (in.getShort(start + 6) & Ipv6LearntMessages.NLM_F_DUMP_INTR) != 0;
                    if (got == Ipv6LearntMessages.NLMSG_DONE) {
                        int errno = length >= Ipv6LearntMessages.HEADER + 4 ? -in.getInt(start + Ipv6LearntMessages.HEADER) : 0;
                        return new Dump<>(items, interrupted, Math.max(errno, 0));
                    } else if (got == Ipv6LearntMessages.NLMSG_ERROR) {
                        int errno = Ipv6LearntMessages.errno(in, start, length);
                        return new Dump<>(null, interrupted, errno == 0 ? EPROTO : errno);
                    } else if (got == type) {
                        if (++messages > MAX_MESSAGES) {
                            return new Dump<>(null, interrupted, E2BIG);
                        }
                        items.add(parser.parse(in, start, length));
                    }
                }
                in.position(Math.min(in.limit(), start + Ipv6LearntMessages.align(length)));
            }
        }
    }

    /** Sends {@code request}; its sequence number. */
    private int send(byte[] request) {
        NativeCalls.Netlink.send(fd, request, request.length, 0);
        return ByteBuffer.wrap(request).order(ByteOrder.nativeOrder()).getInt(8);
    }

    /** The next datagram; the kernel queues an answer (or fills a dump's next part) before the call returns, so none waits. */
    private ByteBuffer receive() {
        int n = NativeCalls.Netlink.recv(fd, buffer, buffer.length, NativeCalls.MSG_DONTWAIT);
        return ByteBuffer.wrap(buffer, 0, n).order(ByteOrder.nativeOrder());
    }
}
