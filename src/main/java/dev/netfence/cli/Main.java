package dev.netfence.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code netfence} executable: a picocli command whose only job is to list the
 * subcommands and map failures to the contract's exit codes (0 ok, 1 invalid input, 2 usage,
 * 3 runtime failure). Each subcommand returns its own exit code; an exception that escapes one
 * is a runtime failure.
 */
@Command(name = "netfence", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Applies sandbox network policies inside container network namespaces.",
        subcommands = {RunCommand.class, PlanCommand.class, ApplyCommand.class, ValidateCommand.class,
                ReplayCommand.class, OutcomesCommand.class, PolicyCommand.class, PublishCommand.class})
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int INVALID_INPUT = 1;
    public static final int USAGE = 2;
    public static final int RUNTIME_FAILURE = 3;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs {@code args} with the given output streams and returns the exit code. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        int code = configure(new CommandLine(new Main()), out, err).execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /**
     * Gives {@code cli} (this command or one subcommand on its own, as tests run them) the output
     * streams and the mapping of failures to exit codes.
     */
    static CommandLine configure(CommandLine cli, PrintWriter out, PrintWriter err) {
        cli.setOut(out);
        cli.setErr(err);
        cli.setExitCodeExceptionMapper(e -> RUNTIME_FAILURE);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("netfence: " + e);
            return RUNTIME_FAILURE;
        });
        cli.setParameterExceptionHandler((e, args1) -> {
            e.getCommandLine().getErr().println(e.getMessage());
            e.getCommandLine().usage(e.getCommandLine().getErr());
            return USAGE;
        });
        return cli;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** The version from the jar manifest, or "dev" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"netfence " + version()};
        }
    }

    /** This build's version string. */
    public static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }
}
