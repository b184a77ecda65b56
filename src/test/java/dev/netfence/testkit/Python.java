package dev.netfence.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The python3 the tests start (raw-socket senders, listeners, workloads): the distribution's
 * {@code /usr/bin/python3} when the machine has it, else {@code python3} from {@code PATH}. A
 * version manager's shim on {@code PATH} (pyenv's is a shell script that runs a dozen more) costs
 * about a quarter of a second per start, and the kernel tests start hundreds.
 */
public final class Python {
    private Python() {}

    /** The interpreter to put first in a command line. */
    public static final String EXE = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
}
