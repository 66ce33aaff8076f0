package io.ternion.engine;

import java.io.PrintStream;

/**
 * One-line notes for the user on stderr (which tokenizer was picked, why a backend fell back), so
 * stdout carries only a command's output. {@link #setQuiet} silences them.
 */
public final class Log {
    private static volatile PrintStream out = System.err;
    private static volatile boolean quiet;

    private Log() {}

    public static void info(String message) {
        if (!quiet) out.println("ternion: " + message);
    }

    public static void setQuiet(boolean q) { quiet = q; }

    /** Redirects notes (tests). */
    public static void setStream(PrintStream s) { out = s; }
}
