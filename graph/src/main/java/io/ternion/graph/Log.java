package io.ternion.graph;

import java.util.function.Consumer;

/**
 * One-line notes for the user on stderr (which tokenizer or template was picked, why a backend fell
 * back), so stdout carries only a command's output. The CLI points them at its own error stream.
 */
public final class Log {
    private static final Consumer<String> STDERR = System.err::println;
    private static volatile Consumer<String> sink = STDERR;
    /** Whether stderr is a terminal (the launcher says so): only then are intermediate progress lines drawn. */
    private static final boolean INTERACTIVE = System.getenv("TERNION_STDERR_TTY") != null;
    private static volatile Consumer<String> progressSink = s -> {
        System.err.print(s);
        System.err.flush();
    };

    private Log() {}

    public static void info(String message) {
        sink.accept("ternion: " + message);
    }

    /**
     * A progress line that redraws itself ({@code \r}), ended with a newline when {@code done}. Only
     * for work long enough to watch, such as uploading gigabytes of weights to a GPU.
     */
    public static void progress(String message, boolean done) {
        if (!done && !INTERACTIVE) return;
        progressSink.accept((INTERACTIVE ? "\r" : "") + "ternion: " + message + (done ? "\n" : ""));
    }

    /** Sends progress lines to {@code s} (null: back to stderr). */
    public static void setProgressSink(Consumer<String> s) {
        progressSink = s != null ? s : text -> {
            System.err.print(text);
            System.err.flush();
        };
    }

    /** Sends notes to {@code s} (null: back to stderr). */
    public static void setSink(Consumer<String> s) {
        sink = s != null ? s : STDERR;
    }
}
