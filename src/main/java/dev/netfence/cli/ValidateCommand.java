package dev.netfence.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code netfence validate --policy FILE}: exit 0 when the document is valid, 1 with every
 * reason on its own line (stderr) when not. The document kinds are an exclusive option group;
 * another kind (for example {@code --event FILE}) is one more option in {@link Input} and one
 * more branch in {@link #reasons()}.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Validates a policy document.")
public final class ValidateCommand implements Callable<Integer> {

    /** Exactly one document to validate. */
    static final class Input {
        @Option(names = "--policy", paramLabel = "FILE", required = true, description = "policy v1 JSON file")
        Path policy;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<String> reasons = reasons();
        if (reasons.isEmpty()) {
            spec.commandLine().getOut().println("valid");
            return Main.OK;
        }
        reasons.forEach(spec.commandLine().getErr()::println);
        return Main.INVALID_INPUT;
    }

    /** Every reason the chosen document is invalid; empty when valid. */
    private List<String> reasons() {
        List<String> reasons = new ArrayList<>();
        if (input.policy != null) {
            try {
                PolicyFile.load(input.policy);
            } catch (PolicyFile.InvalidInput e) {
                reasons.addAll(e.reasons());
            }
        }
        return reasons;
    }
}
