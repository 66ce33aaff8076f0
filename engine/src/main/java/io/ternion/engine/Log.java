package io.ternion.engine;

import java.util.function.Consumer;

/**
 * One-line notes for the user on stderr (which tokenizer or template was picked, why a backend fell
 * back), so stdout carries only a command's output. The CLI points them at its own error stream.
 */
public final class Log {
    private static final Consumer<String> STDERR = System.err::println;
    private static volatile Consumer<String> sink = STDERR;

    private Log() {}

    public static void info(String message) {
        sink.accept("ternion: " + message);
    }

    /** Sends notes to {@code s} (null: back to stderr). */
    public static void setSink(Consumer<String> s) {
        sink = s != null ? s : STDERR;
    }
}
