package dev.netfence.cli;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.PolicyValidationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads and validates a policy file for the CLI commands. A file that cannot be read or does
 * not validate is invalid input (exit 1); the reasons, one per line, are what the user sees.
 */
final class PolicyFile {
    private static final PolicyParser PARSER = new PolicyParser();

    private PolicyFile() {}

    /** The validated policy in {@code file}, or {@link InvalidInput} with every reason. */
    static NetworkPolicy load(Path file) {
        return read(file).policy();
    }

    /**
     * The validated policy in {@code file} and what it leaves implicit ({@link PolicyParser#notes}),
     * from one read of the file (a pipe can be read once), or {@link InvalidInput} with every reason.
     */
    static Loaded read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > PolicyParser.MAX_DOCUMENT_BYTES) {
                throw new InvalidInput(List.of(file + ": larger than " + PolicyParser.MAX_DOCUMENT_BYTES + " bytes"));
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InvalidInput(List.of(file + ": cannot read: " + e.getMessage()));
        }
        try {
            return new Loaded(PARSER.parse(bytes), PARSER.notes(bytes));
        } catch (PolicyValidationException e) {
            throw new InvalidInput(e.reasons());
        }
    }

    /** A validated policy and its notes. */
    record Loaded(NetworkPolicy policy, List<String> notes) {}

    /** Input the user must fix; carries every reason. */
    static final class InvalidInput extends RuntimeException {
        private final List<String> reasons;

        InvalidInput(List<String> reasons) {
            super(String.join("; ", reasons));
            this.reasons = List.copyOf(reasons);
        }

        List<String> reasons() {
            return reasons;
        }
    }
}
