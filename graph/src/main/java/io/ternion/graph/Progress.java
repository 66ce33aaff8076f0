package io.ternion.graph;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The progress of one long piece of work (repacking or uploading weights, writing a synthetic model,
 * evaluating a long prompt, a download) on stderr. On a terminal, a bar redrawn in place at most ten
 * times a second:
 * <pre>ternion: repacking weights [=========>          ]  47%  115.2 of 246.0 MiB, 38.1 MiB/s</pre>
 * elsewhere (a log, a pipe) nothing until the end, then one line:
 * <pre>ternion: repacked weights: 246.0 MiB in 6.5 s (38.1 MiB/s)</pre>
 * Callers that print their own summary end with {@link #clear()} instead of {@link #done()}, which
 * removes the bar and prints nothing. Whether stderr is a terminal is {@link Log#interactive()}.
 */
public final class Progress {
    /** What is counted: bytes (shown in KiB/MiB/GiB) or a named count such as tokens. */
    public record Unit(String name, String perSecond) {
        public static final Unit BYTES = new Unit("bytes", "/s");
        public static final Unit TOKENS = new Unit("tokens", "tok/s");
    }

    static final int BAR_WIDTH = 20;
    private static final long REDRAW_NANOS = 100_000_000;

    private final String doing, did;
    private final long total;
    private final Unit unit;
    private final boolean interactive;
    private final Consumer<String> out;
    private final LongSupplier clock;
    private final long start;
    private long done, lastDraw;
    private int lastLength;
    private boolean drawn, finished;

    Progress(String doing, String did, long total, Unit unit, boolean interactive, Consumer<String> out, LongSupplier clock) {
        this.doing = doing;
        this.did = did;
        this.total = total;
        this.unit = unit;
        this.interactive = interactive;
        this.out = out;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /**
     * Starts reporting {@code total} units of work ({@code total} ≤ 0: unknown, shown without a bar).
     * {@code doing} names it while it runs ("repacking weights"), {@code did} in the final line
     * ("repacked weights").
     */
    public static Progress start(String doing, String did, long total, Unit unit) {
        return new Progress(doing, did, total, unit, Log.interactive(), Log::progressText, System::nanoTime);
    }

    /** Counts {@code units} more done; redraws the bar when it is due. */
    public synchronized void advance(long units) {
        done += units;
        if (!interactive || finished) return;
        long now = clock.getAsLong();
        if (drawn && now - lastDraw < REDRAW_NANOS && done != total) return;
        lastDraw = now;
        drawn = true;
        String line = "ternion: " + bar(doing, done, total, seconds(now), unit);
        out.accept("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        lastLength = Math.max(lastLength, line.length());
    }

    /** Ends with the final line (replacing the bar on a terminal). */
    public synchronized void done() {
        if (finished) return;
        finished = true;
        String line = "ternion: " + summary(did, done, seconds(clock.getAsLong()), unit);
        out.accept((drawn ? "\r" : "") + line + " ".repeat(Math.max(0, lastLength - line.length())) + "\n");
    }

    /** Ends without a line of its own: the bar, if drawn, is wiped. */
    public synchronized void clear() {
        if (finished) return;
        finished = true;
        if (drawn) out.accept("\r" + " ".repeat(lastLength) + "\r");
    }

    private double seconds(long now) { return (now - start) / 1e9; }

    /** The bar line, without the "ternion: " prefix: {@code doing [===>   ]  47%  done of total, rate}. */
    static String bar(String doing, long done, long total, double seconds, Unit unit) {
        StringBuilder s = new StringBuilder(doing).append(' ');
        if (total > 0) {
            double f = Math.min(1, Math.max(0, (double) done / total));
            int full = (int) (f * BAR_WIDTH);
            s.append('[').append("=".repeat(full));
            if (full < BAR_WIDTH) s.append('>').append(" ".repeat(BAR_WIDTH - full - 1));
            s.append(String.format(Locale.ROOT, "] %3d%%  ", (int) (f * 100)));
            s.append(unit == Unit.BYTES ? bytes(done, total).replaceFirst(" \\S+$", "") : Long.toString(done)).append(" of ").append(amount(total, unit));
        } else {
            s.append(amount(done, unit));
        }
        if (seconds > 0) s.append(", ").append(rate(done / seconds, unit));
        return s.toString();
    }

    /** The final line, without the "ternion: " prefix: {@code did: amount in seconds (rate)}. */
    static String summary(String did, long done, double seconds, Unit unit) {
        return String.format(Locale.ROOT, "%s: %s in %.1f s", did, amount(done, unit), seconds)
                + (seconds > 0 ? " (" + rate(done / seconds, unit) + ")" : "");
    }

    private static String amount(long n, Unit unit) {
        return unit == Unit.BYTES ? bytes(n) : n + " " + unit.name();
    }

    private static String rate(double perSecond, Unit unit) {
        if (unit == Unit.BYTES) return bytes(Math.round(perSecond)) + "/s";
        return String.format(Locale.ROOT, "%.1f %s", perSecond, unit.perSecond());
    }

    /** {@code b} bytes in B, KiB, MiB or GiB, one decimal (two for GiB). */
    public static String bytes(long b) {
        return bytes(b, b);
    }

    /** {@code b} bytes in the unit that suits {@code scale} bytes (so that a part reads in the unit of its whole). */
    private static String bytes(long b, long scale) {
        if (scale < 1024) return b + " B";
        if (scale < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (scale < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
        return String.format(Locale.ROOT, "%.2f GiB", b / 1073741824.0);
    }
}
