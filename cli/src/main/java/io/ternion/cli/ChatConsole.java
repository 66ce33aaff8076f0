package io.ternion.cli;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.jline.reader.EOFError;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * The user's side of {@code ternion chat}: where messages come from, where replies and the chat's
 * own lines go, and what Ctrl-C does. On a terminal it is a JLine line editor (history, editing,
 * Ctrl-C stops a reply); otherwise plain lines from standard input, with no escape codes, the cue
 * and notices on stderr and the replies alone on stdout.
 *
 * <p>Both read a line ending in {@code \} as continued on the next one, as llama.cpp does.
 */
sealed interface ChatConsole extends Closeable {
    /** The cue before each message. */
    String CUE = "> ";

    /**
     * The next message, continued lines joined with newlines; "" when there is none to act on (a line
     * dropped with Ctrl-C); null when the user leaves (end of input, Ctrl-D, Ctrl-C at an empty line).
     */
    String readMessage() throws IOException;

    /** Where the model's replies go. */
    PrintWriter replies();

    /** Where the chat's own lines go: the model's description, timings, /help, notices. */
    PrintWriter notices();

    /**
     * Runs a reply; {@code reply} gets a flag that turns true once the user asks it to stop (Ctrl-C
     * on a terminal; never elsewhere, where Ctrl-C ends the process as usual).
     */
    <T> T replying(Function<BooleanSupplier, T> reply);

    @Override
    default void close() throws IOException {}

    /** A line editor when standard input and output are both a terminal, plain lines otherwise. */
    static ChatConsole open(PrintWriter out, PrintWriter err) throws IOException {
        java.io.Console console = System.console();
        if (console != null && console.isTerminal()) return new Editor();
        return new Lines(out, err);
    }

    /** The message a line ending in {@code \} begins: the line without it; null when {@code line} ends the message. */
    static String continued(String line) {
        return line.endsWith("\\") ? line.substring(0, line.length() - 1) : null;
    }

    /** Standard input line by line: pipes, files, the tests. */
    final class Lines implements ChatConsole {
        private final PrintWriter out, err;
        private final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

        Lines(PrintWriter out, PrintWriter err) {
            this.out = out;
            this.err = err;
        }

        @Override
        public String readMessage() throws IOException {
            err.print(CUE);
            err.flush();
            StringBuilder message = new StringBuilder();
            while (true) {
                String line;
                try {
                    line = UserFiles.readLine(in);
                } catch (IllegalArgumentException e) {
                    err.println(); // the error goes on a line of its own, not after the cue
                    throw e;
                }
                if (line == null) return message.isEmpty() ? null : message.toString();
                String begun = continued(line);
                if (begun == null) return message.append(line).toString();
                message.append(begun).append('\n');
            }
        }

        @Override public PrintWriter replies() { return out; }
        @Override public PrintWriter notices() { return err; }
        @Override public <T> T replying(Function<BooleanSupplier, T> reply) { return reply.apply(() -> false); }
    }

    /** JLine on the terminal: history (Up/Down), line editing, bracketed paste; Ctrl-C stops a reply. */
    final class Editor implements ChatConsole {
        private final Terminal terminal;
        private final LineReader reader;
        /** Set while a reply runs; Ctrl-C then asks it to stop instead of ending the process. */
        private volatile boolean replying;
        private volatile boolean stopAsked;

        Editor() throws IOException {
            // While it reads, the editor takes Ctrl-C as a key. JLine would also raise it as a signal in software,
            // which could land after the key's own UserInterruptException and end the next read at once (so
            // Ctrl-C on a typed line sometimes left the chat): the key alone is enough.
            if (System.getProperty(TerminalBuilder.PROP_SOFTWARE_SIGNALS) == null) {
                System.setProperty(TerminalBuilder.PROP_SOFTWARE_SIGNALS, "false");
            }
            terminal = TerminalBuilder.builder().system(true).build();
            reader = LineReaderBuilder.builder().terminal(terminal).parser(new ContinuedLines())
                    // Up recalls what was typed in earlier chats too, as in Ollama; no file, no history kept (not an error).
                    .variable(LineReader.HISTORY_FILE, historyFile())
                    .variable(LineReader.SECONDARY_PROMPT_PATTERN, ". ")
                    // !word would recall history and \ would vanish: a message is sent as typed.
                    .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
                    .build();
            // The reader puts its own Ctrl-C handling in place while it reads and this one back after.
            terminal.handle(Terminal.Signal.INT, signal -> {
                // Outside a reply (the model still loading), or a second Ctrl-C before the reply could stop
                // (it is still evaluating the prompt): leave at once, as Ctrl-C does elsewhere.
                if (!replying || stopAsked) Thread.ofPlatform().start(() -> System.exit(130));
                stopAsked = true;
            });
        }

        /** The cache folder's chat_history, with its folder made; null where it cannot be. */
        private static Path historyFile() {
            try {
                Path dir = Files.createDirectories(HubDownload.cacheFolder());
                return dir.resolve("chat_history");
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        @Override
        public String readMessage() {
            String line;
            try {
                line = reader.readLine(CUE);
            } catch (EndOfFileException e) {
                return null;
            } catch (UserInterruptException e) {
                return e.getPartialLine().isEmpty() ? null : "";
            }
            return line.replace("\\\n", "\n");
        }

        @Override public PrintWriter replies() { return terminal.writer(); }
        @Override public PrintWriter notices() { return terminal.writer(); }

        @Override
        public <T> T replying(Function<BooleanSupplier, T> reply) {
            stopAsked = false;
            replying = true;
            try {
                return reply.apply(() -> stopAsked);
            } finally {
                replying = false;
            }
        }

        @Override
        public void close() throws IOException {
            terminal.close();
        }
    }

    /** Accepting a line that ends in {@code \} opens the next one in the same message, as llama.cpp's chat does. */
    final class ContinuedLines extends DefaultParser {
        @Override
        public ParsedLine parse(String line, int cursor, ParseContext context) {
            if (context == ParseContext.ACCEPT_LINE && continued(line) != null) {
                throw new EOFError(-1, cursor, "the message goes on", "\\");
            }
            return super.parse(line, cursor, context);
        }
    }
}
