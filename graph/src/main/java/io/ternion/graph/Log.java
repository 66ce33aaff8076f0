package io.ternion.graph;

import java.util.function.Consumer;

/**
 * One-line notes for the user on stderr (which tokenizer or template was picked, why a backend fell
 * back), so stdout carries only a command's output. The CLI points them at its own error stream.
 */
public final class Log {
    private static final Consumer<String> STDERR = System.err::println;
    private static volatile Consumer<String> sink = STDERR;
    private static final boolean INTERACTIVE = interactive(System.getenv("TERNION_STDERR_TTY"));
    private static volatile Consumer<String> progressSink = Log::printToStderr;
    /** The length of a progress line drawn and not yet ended, which a note must wipe first; 0 for none. */
    private static volatile int openLine;

    private Log() {}

    public static void info(String message) {
        int open = openLine;
        if (open > 0) {
            openLine = 0;
            progressSink.accept("\r" + " ".repeat(open) + "\r"); // the next redraw puts the bar back below the note
        }
        sink.accept("ternion: " + message);
    }

    /**
     * Whether stderr is a terminal, where progress is a bar redrawn in place. The launchers pipe
     * stderr through a filter, so Java cannot see it itself: they say so in TERNION_STDERR_TTY (1 or
     * 0). Without it (java -jar run by hand), a console on a terminal counts.
     */
    public static boolean interactive() { return INTERACTIVE; }

    static boolean interactive(String env) {
        if (env != null) return !env.equals("0");
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /**
     * A progress line that redraws itself ({@code \r}), ended with a newline when {@code done}; off a
     * terminal only the final one is printed. {@link Progress} draws a bar with a rate.
     */
    public static void progress(String message, boolean done) {
        if (!done && !INTERACTIVE) return;
        progressText((INTERACTIVE ? "\r" : "") + "ternion: " + message + (done ? "\n" : ""));
    }

    /** Writes progress text as it is, remembering whether it leaves a line open. */
    static void progressText(String text) {
        progressSink.accept(text);
        int lastBreak = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
        String tail = text.substring(lastBreak + 1);
        openLine = tail.isBlank() ? 0 : tail.length();
    }

    /** Sends progress lines to {@code s} (null: back to stderr). */
    public static void setProgressSink(Consumer<String> s) {
        progressSink = s != null ? s : Log::printToStderr;
    }

    private static void printToStderr(String text) {
        System.err.print(text);
        System.err.flush();
    }

    /** Sends notes to {@code s} (null: back to stderr). */
    public static void setSink(Consumer<String> s) {
        sink = s != null ? s : STDERR;
    }
}
