package dev.netfence.testkit;

import dev.netfence.netns.CommandResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Gate for tests that need the real kernel: root, {@code ip}, {@code nsenter},
 * {@code iptables-restore}, {@code ip6tables-restore}, and a working {@code ip netns add}. When
 * something is missing the test class is skipped, unless NETFENCE_REQUIRE_KERNEL_TESTS=1 (as in
 * CI), in which case it fails: a kernel test that silently does not run proves nothing.
 */
public final class KernelTests implements BeforeAllCallback {
    public static final String REQUIRE_ENV = "NETFENCE_REQUIRE_KERNEL_TESTS";

    @Override
    public void beforeAll(ExtensionContext context) {
        List<String> missing = missingPrerequisites();
        if (missing.isEmpty()) {
            return;
        }
        String why = "kernel tests cannot run: " + String.join("; ", missing);
        if ("1".equals(System.getenv(REQUIRE_ENV))) {
            Assertions.fail(why + " (and " + REQUIRE_ENV + "=1)");
        }
        Assumptions.abort(why);
    }

    /**
     * For a test outside a kernel-test class that runs {@code netfence apply} for real, which
     * refuses to start without CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_SYS_PTRACE
     * ({@link dev.netfence.netns.PinPrivileges}): skips it without them, or fails it as
     * {@link #beforeAll} does when kernel tests are required.
     */
    public static void requirePinPrivileges() throws java.io.IOException {
        java.util.Optional<String> missing = dev.netfence.netns.PinPrivileges.missing(Path.of("/proc"));
        if (missing.isPresent()) {
            if ("1".equals(System.getenv(REQUIRE_ENV))) {
                Assertions.fail(missing.get() + " (and " + REQUIRE_ENV + "=1)");
            }
            Assumptions.abort(missing.get());
        }
    }

    /** What this machine lacks for kernel tests; empty when they can run. */
    public static List<String> missingPrerequisites() {
        List<String> missing = new ArrayList<>();
        if (!"0".equals(uid())) {
            missing.add("not root");
            return missing;
        }
        for (String tool : List.of("ip", "nsenter", "iptables-restore", "ip6tables-restore",
                "iptables-nft-restore", "ip6tables-nft-restore", "iptables-legacy-restore", "ip6tables-legacy-restore")) {
            if (!onPath(tool)) {
                missing.add(tool + " not on PATH");
            }
        }
        if (!missing.isEmpty()) {
            return missing;
        }
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        String probe = "nft-" + HexFormat.of().formatHex(random) + "-k";
        CommandResult add = Sh.run("ip", "netns", "add", probe);
        if (!add.ok()) {
            missing.add("ip netns add failed: " + add.stderr().strip());
        } else {
            Sh.run("ip", "netns", "del", probe);
        }
        return missing;
    }

    private static String uid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[1];
                }
            }
        } catch (Exception e) {
            return "?";
        }
        return "?";
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
