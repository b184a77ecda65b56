package dev.netfence.netns;

import java.io.IOException;
import java.util.List;

/**
 * A command wrote more than {@link ProcessCommandRunner#MAX_OUTPUT} bytes to one stream and was
 * killed. An {@link IOException}, as the runner's other failures are, so a caller that does not
 * tell it apart still fails; the backends tell it apart as VERIFY_FAILED: what was too large to
 * read back is a ruleset netfence cannot verify, not a program that cannot run.
 */
public final class CommandOutputTooLargeException extends IOException {
    public CommandOutputTooLargeException(List<String> argv, String stream, int limit) {
        super(argv.get(0) + " (" + String.join(" ", argv) + ") wrote more than " + limit + " bytes to " + stream
                + " and was killed");
    }
}
