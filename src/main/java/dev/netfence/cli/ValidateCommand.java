package dev.netfence.cli;

import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
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
 * {@code netfence validate --policy FILE | --event FILE}: exit 0 when the document is valid (a
 * valid policy's notes, {@code PolicyParser#notes}, on stderr), 1 with every reason on its own
 * line (stderr) when not. The document kinds are an exclusive option group;
 * another kind (for example {@code --event FILE}) is one more option in {@link Input} and one
 * more branch in {@link #reasons()}.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Validates a policy or container event document.")
public final class ValidateCommand implements Callable<Integer> {

    /** Exactly one document to validate. */
    static final class Input {
        @Option(names = "--policy", paramLabel = "FILE", required = true, description = "policy v1 JSON file")
        Path policy;

        @Option(names = "--event", paramLabel = "FILE", required = true, description = "container event v1 JSON file")
        Path event;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Spec
    CommandSpec spec;

    /** What a valid policy leaves implicit ({@code note:} lines on stderr beside "valid"). */
    private final List<String> notes = new ArrayList<>();

    @Override
    public Integer call() {
        List<String> reasons = reasons();
        if (reasons.isEmpty()) {
            spec.commandLine().getOut().println("valid");
            notes.forEach(n -> spec.commandLine().getErr().println("note: " + n));
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
                notes.addAll(PolicyFile.read(input.policy).notes());
            } catch (PolicyFile.InvalidInput e) {
                reasons.addAll(e.reasons());
            }
        }
        if (input.event != null) {
            reasons.addAll(eventReasons(input.event));
        }
        return reasons;
    }

    /** What the service's own decoder says about an event file (schemas/container-event.v1.json). */
    private static List<String> eventReasons(Path file) {
        byte[] bytes;
        try {
            bytes = java.nio.file.Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            return List.of("cannot read " + file + ": " + e.getMessage());
        }
        DecodeResult result = new EventDecoder().decode(bytes);
        if (result instanceof DecodeResult.Malformed m) {
            return List.of(m.code().code() + ": " + m.message());
        }
        if (result instanceof DecodeResult.Invalid inv) {
            return java.util.Arrays.stream(inv.message().split("; ")).map(r -> inv.code().code() + ": " + r).toList();
        }
        if (result instanceof DecodeResult.UnknownType u) {
            return List.of("unknown event type: " + u.type());
        }
        return List.of();
    }
}
