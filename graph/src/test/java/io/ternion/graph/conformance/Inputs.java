package io.ternion.graph.conformance;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded random inputs for the conformance table: activations, and weight tensors of every type.
 * Types with a quantizer in the gguf module are built with it; Q4_0, Q4_K, Q6_K and Q2_0 from random bytes
 * (any bytes are a valid block once the fp16 scales are set to small finite values).
 */
public final class Inputs {
    private Inputs() {}

    /** Where a tensor's bytes live: mapped files give native memory, usually not 64-byte aligned. */
    public enum Placement {
        /** A heap byte[] (what Tensor.quantize produces). */
        HEAP,
        /** Native memory at a 64-byte boundary. */
        NATIVE_ALIGNED,
        /** Native memory at an odd address: catches any assumption of aligned loads. */
        NATIVE_ODD
    }

    public static SplittableRandom random(Object... key) {
        return new SplittableRandom(Arrays.deepHashCode(key) * 0x9E3779B97F4A7C15L + 12345);
    }

    /** Uniform in [−1, 1). */
    public static float[] floats(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        return a;
    }

    /** An n × k weight matrix (k per row) of {@code type}, with values of order 1. */
    public static Tensor weights(SplittableRandom rnd, GgmlType type, int k, int n, Placement placement) {
        long[] shape = {k, n};
        byte[] bytes = switch (type) {
            case F32, F16, BF16, Q8_0, Q1_0 -> type.quantize(floats(rnd, k * n));
            case I2_S, TQ2_0, TQ1_0 -> type.quantize(ternary(rnd, k * n, type != GgmlType.I2_S));
            case Q4_0 -> blocks(rnd, type, k * n, (b, o) -> setHalf(b, o, rnd.nextDouble(-0.15, 0.15)));
            // Random codes, so all four (+2 included, which the quantizer never writes), and scales of either sign.
            case Q2_0, Q2_0_128 -> blocks(rnd, type, k * n, (b, o) -> setHalf(b, o, rnd.nextDouble(-0.3, 0.3)));
            case Q4_K -> blocks(rnd, type, k * n, (b, o) -> {
                setHalf(b, o, rnd.nextDouble(0, 0.02));
                setHalf(b, o + 2, rnd.nextDouble(0, 0.02));
            });
            case Q6_K -> blocks(rnd, type, k * n, (b, o) -> setHalf(b, o + 208, rnd.nextDouble(-0.001, 0.001)));
            default -> throw new IllegalArgumentException("no random generator for " + type);
        };
        return new Tensor("w", type, shape, place(bytes, placement));
    }

    /**
     * Values in {−s, 0, +s}, what a BitNet converter hands the ternary quantizers (which keep only
     * signs and one magnitude): with {@code perBlock}, s changes every 256 elements, else one s.
     */
    static float[] ternary(SplittableRandom rnd, int n, boolean perBlock) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float s = perBlock ? 0.02f + 0.01f * (i / 256 % 7) : 0.3f;
            a[i] = (rnd.nextInt(3) - 1) * s;
        }
        return a;
    }

    interface BlockScales {
        void set(byte[] bytes, int blockOffset);
    }

    private static byte[] blocks(SplittableRandom rnd, GgmlType type, int elements, BlockScales scales) {
        byte[] b = new byte[(int) type.byteSize(elements)];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rnd.nextInt(256);
        for (int o = 0; o < b.length; o += type.blockBytes) scales.set(b, o);
        return b;
    }

    private static void setHalf(byte[] b, int at, double value) {
        MemorySegment.ofArray(b).set(Numbers.SHORT, at, Numbers.floatToHalf((float) value));
    }

    public static MemorySegment place(byte[] bytes, Placement placement) {
        return switch (placement) {
            case HEAP -> MemorySegment.ofArray(bytes);
            case NATIVE_ALIGNED -> Arena.ofAuto().allocate(Math.max(1, bytes.length), 64).copyFrom(MemorySegment.ofArray(bytes));
            case NATIVE_ODD -> Arena.ofAuto().allocate(bytes.length + 3L, 64).asSlice(3, bytes.length).copyFrom(MemorySegment.ofArray(bytes));
        };
    }
}
