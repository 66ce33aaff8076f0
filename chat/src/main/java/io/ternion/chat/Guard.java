package io.ternion.chat;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Enforces {@link Limits} during a render. The renderer holds the render's guard; the value operations
 * that have no renderer at hand ({@link Values}, {@link PyText}, {@link Json}, {@link Filters},
 * {@link Methods}) find it through {@link #current()}, which outside a render is a guard with the
 * default limits and no deadline. Every violation is a {@link TemplateException} whose message names
 * the limit; sizes are checked before the value is allocated.
 */
final class Guard {
    private static final ThreadLocal<Guard> CURRENT = new ThreadLocal<>();
    private static final Guard IDLE = new Guard(Limits.DEFAULT, false);

    final Limits limits;
    private final boolean timed;
    private final long start = System.nanoTime();
    private final long timeNanos;
    private long created;
    private int ticks;
    private long work;

    private Guard(Limits limits, boolean timed) {
        this.limits = limits;
        this.timed = timed;
        this.timeNanos = saturatedNanos(limits);
    }

    private static long saturatedNanos(Limits limits) {
        try {
            return limits.maxRenderTime().toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The guard of the render in progress on this thread, or one with the default limits and no deadline. */
    static Guard current() {
        Guard g = CURRENT.get();
        return g != null ? g : IDLE;
    }

    /** Runs {@code render} with a fresh guard for {@code limits} as this thread's current one. */
    static <T> T run(Limits limits, Function<Guard, T> render) {
        Guard previous = CURRENT.get();
        Guard guard = new Guard(limits, true);
        CURRENT.set(guard);
        try {
            return render.apply(guard);
        } finally {
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
        }
    }

    // ---- time ----

    /** Counts one step of work; every so often, fails when the render has run past its wall time. */
    void tick() {
        if (timed && (++ticks & 255) == 0) checkTime();
    }

    /** Counts a step that costs about {@code cost} character comparisons (a long needle tried at one place). */
    void tick(int cost) {
        if (!timed) return;
        work += cost;
        if (work >= 1 << 20) {
            work = 0;
            checkTime();
        }
    }

    void checkTime() {
        if (timed && System.nanoTime() - start > timeNanos) {
            throw new TemplateException("render time exceeds " + limits.maxRenderTime().toMillis() + " ms");
        }
    }

    // ---- sizes ----

    /** Fails unless a string of {@code length} characters is allowed; call before building it. */
    static void checkString(long length) {
        current().string(length);
    }

    /** Fails unless a list of {@code size} items is allowed; call before building it. */
    static void checkList(long size) {
        current().list(size);
    }

    void string(long length) {
        if (length > limits.maxStringLength()) throw stringTooLong(limits.maxStringLength());
    }

    void list(long size) {
        if (size > limits.maxListLength()) {
            throw new TemplateException("list length exceeds " + limits.maxListLength() + " items");
        }
    }

    static TemplateException stringTooLong(long max) {
        return new TemplateException("string length exceeds " + max + " characters");
    }

    /** {@code a * b} for sizes, saturating instead of overflowing. */
    static long times(long a, long b) {
        if (a <= 0 || b <= 0) return 0;
        return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /**
     * Charges a value an operation produced (its characters or items) to the render's total and returns
     * it. Outside a render nothing is counted.
     */
    static <T> T made(T value) {
        Guard g = current();
        if (g != IDLE) g.charge(value);
        return value;
    }

    void charge(Object value) {
        long size = switch (value) {
            case String s -> s.length();
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case null, default -> 0;
        };
        if (size == 0) return;
        created += size;
        if (created > limits.maxCreatedSize()) {
            throw new TemplateException("values created exceed " + limits.maxCreatedSize() + " characters and items in total");
        }
        tick();
    }

    // ---- depth ----

    static TemplateException tooDeep(String what, int max) {
        return new TemplateException(what + " exceeds " + max);
    }

    /** Fails when a value nested {@code depth} deep (a list in a list ...) is too deep to walk. */
    static void checkValueDepth(int depth) {
        int max = current().limits.maxRenderDepth();
        if (depth > max) throw tooDeep("value nesting depth", max);
    }
}
