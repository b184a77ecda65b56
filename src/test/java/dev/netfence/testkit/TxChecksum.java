package dev.netfence.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * An interface's transmit checksum offload, read or set with ethtool's ioctl from a python
 * snippet (the machines have no {@code ethtool}), in the namespace {@code enter} leads into
 * ({@code nsenter -t PID -n}, {@code ip netns exec NAME}, or nothing for netfence's own).
 */
public final class TxChecksum {
    private TxChecksum() {}

    /** Reads (one argument) or sets ({@code on}/{@code off}) an interface's transmit checksum offload; prints on or off. */
    static final String SCRIPT = "import ctypes, fcntl, socket, struct, sys\n"
            + "def call(cmd, data):\n"
            + "    buf = ctypes.create_string_buffer(struct.pack('II', cmd, data))\n"
            + "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "    fcntl.ioctl(s.fileno(), 0x8946, struct.pack('16sP', sys.argv[1].encode(), ctypes.addressof(buf)) + bytes(16))\n"
            + "    s.close()\n"
            + "    return struct.unpack_from('II', buf.raw)[1]\n"
            + "if len(sys.argv) > 2:\n"
            + "    call(0x17, 1 if sys.argv[2] == 'on' else 0)\n"
            + "print('on' if call(0x16, 0) else 'off')\n";

    /** {@code on} or {@code off}: {@code ifname}'s setting in the namespace {@code enter} leads into. */
    public static String of(List<String> enter, String ifname) {
        return Sh.ok(argv(enter, ifname, null).toArray(String[]::new)).strip();
    }

    /** Sets it; what it reads afterwards. */
    public static String set(List<String> enter, String ifname, boolean on) {
        return Sh.ok(argv(enter, ifname, on ? "on" : "off").toArray(String[]::new)).strip();
    }

    private static List<String> argv(List<String> enter, String ifname, String value) {
        List<String> argv = new ArrayList<>(enter);
        argv.addAll(List.of(Python.EXE, "-c", SCRIPT, ifname));
        if (value != null) {
            argv.add(value);
        }
        return argv;
    }
}
