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
    // The exit codes of every command (docs/contracts.md, "Exit codes"), defined here only.
    /** Success ({@code apply}: applied). */
    public static final int OK = 0;
    /** Invalid input: a bad time, an invalid policy or event, an unknown task, a missing topic. */
    public static final int INVALID_INPUT = 1;
    /** Usage error: an unknown option, a bad option value, an unknown config-file key. */
    public static final int USAGE = 2;
    /** Runtime failure: Kafka unreachable, records not acknowledged; {@code apply}: failed or skipped. */
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
        cli.setParameterExceptionHandler(Main::usageError);
        installOptionSources(cli);
        return cli;
    }

    /** {@code run} reads options it was not given from the environment and its config file. */
    private static void installOptionSources(CommandLine cli) {
        if (cli.getCommand() instanceof RunCommand run) {
            cli.setDefaultValueProvider(run.sources());
        }
        cli.getSubcommands().values().forEach(Main::installOptionSources);
    }

    /**
     * Exit code 2. A command that reads options from the environment and a file ({@code run})
     * reports a bad value or config source in one line naming where it came from
     * ({@code netfence run: invalid value for NETFENCE_CONCURRENCY: ...}); otherwise picocli's
     * message and the usage. A help request is honoured even when a value from the environment
     * or the file is bad.
     */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine c = e.getCommandLine();
        if (c.getCommandSpec().defaultValueProvider() instanceof OptionSources sources) {
            if (c.isUsageHelpRequested()) {
                c.usage(c.getOut());
                return OK;
            }
            if (c.isVersionHelpRequested()) {
                c.printVersionHelp(c.getOut());
                return OK;
            }
            String command = c.getCommandSpec().qualifiedName(" ");
            command = command.startsWith("netfence") ? command : "netfence " + command;
            if (e instanceof OptionSources.SourceException) {
                c.getErr().println(command + ": " + e.getMessage());
                return USAGE;
            }
            if (e.getCause() instanceof CommandLine.TypeConversionException bad && e.getArgSpec() != null) {
                c.getErr().println(command + ": invalid value for " + sources.origin(e.getArgSpec()) + ": "
                        + bad.getMessage());
                return USAGE;
            }
        }
        c.getErr().println(e.getMessage());
        c.usage(c.getErr());
        return USAGE;
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
