package io.ternion.kernels.cpu;

/**
 * A thread's arrays reused from one call to the next, grown when a call needs more and never
 * shrunk, for buffers that live only until their kernel returns (activation quantizers' outputs,
 * a batch's tables, decoded tiles, attention partials): fresh, they were most of a decode step's
 * garbage.
 */
final class ThreadArrays {
    private ThreadArrays() {}

    static ThreadLocal<short[]> shorts() { return ThreadLocal.withInitial(() -> new short[0]); }

    static ThreadLocal<float[]> floats() { return ThreadLocal.withInitial(() -> new float[0]); }

    /** This thread's array in {@code slot}, at least {@code n} long (its contents are stale). */
    static short[] atLeast(ThreadLocal<short[]> slot, int n) {
        short[] a = slot.get();
        if (a.length < n) slot.set(a = new short[n]);
        return a;
    }

    /** As {@link #atLeast(ThreadLocal, int)} for floats. */
    static float[] atLeastFloats(ThreadLocal<float[]> slot, int n) {
        float[] a = slot.get();
        if (a.length < n) slot.set(a = new float[n]);
        return a;
    }
}
