package io.ternion.cli;

import io.ternion.gguf.GgufFormatException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

/** The {@code ternion} command line: picocli commands that parse, call the library, and print. */
@Command(name = "ternion", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs 1-bit and ternary LLMs (BitNet b1.58, Bonsai, TQ1_0/TQ2_0 GGUF models).",
        subcommands = {RunCommand.class, ChatCommand.class, ServeCommand.class, InfoCommand.class, TokenizeCommand.class, SynthCommand.class,
                DevicesCommand.class, CompareCommand.class, BenchCommand.class, PullCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** Exit code for a user error: bad flags, a bad or missing file. */
    public static final int USER_ERROR = 2;
    /** Exit code of {@code bench --baseline} when a result fell by more than {@code --max-regression}. */
    public static final int PERF_REGRESSION = 3;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print stack traces with errors.")
    boolean verbose;

    public static void main(String[] args) {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            // java -jar ternion.jar without the flags: the kernels would fail at their first class.
            System.err.println("ternion: error: the Vector API module is not loaded; run: java --add-modules jdk.incubator.vector"
                    + " --enable-native-access=ALL-UNNAMED -XX:CompileCommand=quiet '-XX:CompileCommand=CompileThresholdScaling,io.ternion.*::*,0.05'"
                    + " -jar ternion.jar " + String.join(" ", args)
                    + "  (or ./ternion, or the packaged image's bin/ternion, which need no flags)");
            System.exit(USER_ERROR);
        }
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the CLI with the given streams; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        // llama.cpp's flags are multi-letter after one dash (-ngl, -sys, -cnv): clustering read -ngl 99 as -n gl.
        cl.setPosixClusteredShortOptionsAllowed(false);
        cl.setParameterExceptionHandler((e, unused) -> {
            String message = e.getMessage();
            if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty() && u.getUnmatched().getFirst().startsWith("-")) {
                String name = e.getCommandLine().getCommandName();
                message = "Unknown option: '" + u.getUnmatched().getFirst() + "': not a flag of ternion " + name
                        + " (`ternion " + name + " --help` lists them; llama.cpp's common ones are there under their names)";
            }
            err.println("ternion: error: " + message);
            err.flush();
            return USER_ERROR;
        });
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            err.println("ternion: error: " + userMessage(e));
            if (main.verbose) e.printStackTrace(err);
            err.flush();
            return USER_ERROR;
        });
        io.ternion.graph.Log.setSink(line -> {
            err.println(line);
            err.flush();
        });
        io.ternion.graph.Log.setProgressSink(text -> {
            err.print(text);
            err.flush();
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** One line a user can act on, for the errors a user can cause. */
    static String userMessage(Throwable e) {
        return switch (e) {
            case GgufFormatException g -> g.getMessage();
            case NoSuchFileException n -> "no such file: " + n.getFile();
            case AccessDeniedException a -> "permission denied: " + a.getFile();
            case FileSystemException f -> f.getMessage();
            case java.io.IOException io -> io.getClass().getSimpleName() + ": " + io.getMessage();
            default -> e.getMessage() != null ? e.getMessage() : e.toString();
        };
    }

    /**
     * The model used when {@code -m} is not given: the one bundled with Ternion, found through the
     * {@code ternion.home} property the launcher sets, else the working directory.
     */
    static Path defaultModel() {
        String home = System.getProperty("ternion.home", ".");
        return Path.of(home, "models", "stories260K.gguf");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"ternion " + (v != null ? v : "dev") + " (Java " + Runtime.version() + ")"};
        }
    }
}
