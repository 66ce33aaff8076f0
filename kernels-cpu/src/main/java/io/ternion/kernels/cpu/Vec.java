package io.ternion.kernels.cpu;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every kernel uses and small shared helpers. Float vectors are the widest the
 * CPU prefers (16 lanes with AVX-512, 8 with AVX2); byte, short and int species have the same lane
 * count, so one byte or half of the weights maps to one float lane without shuffles.
 */
final class Vec {
    private Vec() {}

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    /**
     * Byte species of L lanes; needs L ≥ 8 (the narrowest vector is 64 bits). With 128-bit vectors
     * (L = 4, NEON or SSE) the block kernels are not used and {@link ScalarKernel} takes over.
     */
    static final VectorSpecies<Byte> B = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /** Whether the quantized-block kernels can run: L divides their 16- and 32-element groups. */
    static final boolean BLOCK_KERNELS = L == 8 || L == 16;

    /**
     * The sum of the lanes, in a fixed order: halves added lane-wise, then quarters, and so on.
     * {@code reduceLanes(ADD)} may add in any order, and does: C2's intrinsic adds as a tree, the
     * interpreter's fallback lane by lane, so the same call gave different bits before and after
     * the JIT compiled it. The halves are brought down by rotating with constant shuffles (one
     * permute each) rather than {@code slice}, which builds its shuffle and blend mask on every
     * call: lane 0 sees the same additions either way (only lanes it never reads differ), but the
     * slices cost 8% of decode at 2 threads, most of it in attention's per-position dot products.
     */
    static float sum(FloatVector v) {
        v = v.add(v.rearrange(ROTATE_HALF));
        if (L >= 4) v = v.add(v.rearrange(ROTATE_QUARTER));
        if (L >= 8) v = v.add(v.rearrange(ROTATE_EIGHTH));
        if (L >= 16) v = v.add(v.rearrange(ROTATE_SIXTEENTH));
        return v.lane(0);
    }

    /**
     * {@link #sum(FloatVector)} of a vector stored at a[off, off + L), for a kernel whose call to it
     * C2 would leave out of line (boxing the vector): the same additions in the same order (lane i
     * plus lane i + L/2, then quarters, …), in place.
     */
    static float sumLanes(float[] a, int off) {
        for (int half = L / 2; half > 0; half /= 2) {
            for (int i = 0; i < half; i++) a[off + i] += a[off + i + half];
        }
        return a[off];
    }

    /** Lane i ← lane (i + L/2ʲ) mod L; separate constants so C2 sees each as one. */
    private static final VectorShuffle<Float> ROTATE_HALF = rotation(L / 2);
    private static final VectorShuffle<Float> ROTATE_QUARTER = rotation(L / 4);
    private static final VectorShuffle<Float> ROTATE_EIGHTH = rotation(L / 8);
    private static final VectorShuffle<Float> ROTATE_SIXTEENTH = rotation(L / 16);

    private static VectorShuffle<Float> rotation(int by) {
        return VectorShuffle.iota(F, by, 1, true);
    }

    /**
     * {@link #sum(FloatVector)} for doubles of the same vector shape (L/2 lanes), rotated the same way:
     * with {@code slice}, C2 compiled softmax's and the RMS norm's sums out of line, as Java that
     * allocated (JFR: a boxed vector and a double[] per step of the fold, on every call).
     */
    static double sum(DoubleVector v) {
        v = v.add(v.rearrange(D_ROTATE_HALF));
        if (L >= 8) v = v.add(v.rearrange(D_ROTATE_QUARTER));
        if (L >= 16) v = v.add(v.rearrange(D_ROTATE_EIGHTH));
        return v.lane(0);
    }

    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    static final VectorShuffle<Double> D_ROTATE_HALF = VectorShuffle.iota(D, L / 4, 1, true);
    static final VectorShuffle<Double> D_ROTATE_QUARTER = VectorShuffle.iota(D, Math.max(1, L / 8), 1, true);
    static final VectorShuffle<Double> D_ROTATE_EIGHTH = VectorShuffle.iota(D, Math.max(1, L / 16), 1, true);

    /** Σ a[i]·b[i] over n floats: one accumulator per lane, then {@link #sum(FloatVector)}. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = sum(acc);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** y[i] += a·x[i] over n floats. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /** x[i] *= a over n floats. */
    static void scale(float[] x, int off, int n, float a) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) FloatVector.fromArray(F, x, off + i).mul(a).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= a;
    }

    /**
     * IEEE binary16 → binary32 for L halves, exactly as {@link Float#float16ToFloat} (subnormals, ±0
     * and infinities bit for bit; a NaN stays a NaN). The Vector API has no half type, so:
     * <ul>
     *   <li>Shifted left by 13, a half's exponent and mantissa fall into a float's places, as a
     *       float 2¹¹² times too small; multiplying by 2¹¹² rebiases the exponent. This is exact
     *       for normal and subnormal halves alike (a subnormal half becomes a subnormal float
     *       first, and Java never flushes those to zero).
     *   <li>Exponent 31 (infinity, NaN) gets all exponent bits set, keeping the mantissa.
     *   <li>The sign is or-ed in last, so −0 stays −0.
     * </ul>
     * Measured against the alternatives in bench's F16VariantsBenchmark (K = 2560, N = 6912, ms per
     * matvec at 1 / 2 threads, on an AMD Zen 4 host whose read probe gives 26.7 / 31.9 GB/s):
     * this 1.9 / 1.1; integer-only, never forming a subnormal float (masked fix-ups, 14 operations
     * instead of 10) 2.2 / 1.4; blends 2.8 / 1.6; a branch to a rare exact path 16.8 / 8.7 (C2
     * allocated the vectors); a scalar float16ToFloat loop into a scratch row, which C2 turns into
     * vcvtph2ps, 2.5 / 1.5; normal halves only (inexact, a bound) 1.6 / 1.1. Some Intel cores take
     * a microcode assist for subnormal multiply inputs, which about 0.2% of real F16 weights are:
     * re-measure there before trusting this choice on Intel.
     */
    static FloatVector halfToFloat(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> infNan = h16.and((short) 0x7c00).compare(VectorOperators.EQ, (short) 0x7c00).cast(I);
        IntVector bits = magnitude.lanewise(VectorOperators.OR, 0x7f800000, infNan);
        return bits.or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats();
    }

    /**
     * half → float for finite halves only (no infinity or NaN), in four operations instead of
     * {@link #halfToFloat}'s ten: sign-extended to an int and shifted left by 13, a half's exponent
     * and mantissa land in a float's, the sign extension fills bits 28–31 and the AND keeps bit 31 of
     * them (the sign); times 2¹¹² the exponent is rebased, exactly for normals, subnormals and zeros.
     * A half of exponent 31 would come out finite (2¹⁶ to 2¹⁷). The F16 KV cache holds only finite
     * halves ({@link KvCache#store} saturates), and attention's time is mostly these conversions.
     */
    static FloatVector finiteHalfToFloat(ShortVector h16) {
        return halfBits(h16).mul(0x1p112f);
    }

    /**
     * {@link #finiteHalfToFloat} without its last multiplication: each finite half's value times
     * 2⁻¹¹², exactly (a subnormal float for a subnormal half). A caller that multiplies by the
     * result can put the 2¹¹² into its other factor, where it costs nothing per vector and gives
     * the same products, so the same bits (see Attention's F16 kernels).
     */
    static FloatVector halfBits(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats();
    }

    /** bfloat16 → float: the half is the top of the float. */
    static FloatVector bf16ToFloat(ShortVector b16) {
        IntVector b = (IntVector) b16.convertShape(VectorOperators.S2I, I, 0);
        return b.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** L signed bytes → L float lanes. */
    static FloatVector bytesToFloat(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /** L bytes → L int lanes, zero-extended (0..255), so nibbles and bit fields need no sign masking. */
    static IntVector unsignedBytes(ByteVector b) {
        return (IntVector) b.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /**
     * Sums of x over each group of 32 (a Q4_0/Q4_K sub-block), shared by all rows of a call.
     *
     * <p>A vector carried from one loop iteration to the next is always the argument of the
     * operation that updates it here and in the other kernels ({@code v = fresh.add(v)}), never its
     * receiver: C2 types the loop's phi as plain FloatVector, cannot bind {@code v.add} statically
     * ("failed to inline: virtual call" in -XX:+PrintInlining), and the call then runs the Vector
     * API's Java code, allocating. Softmax's max loop and rmsNorm's sums did that in every 2B4T
     * decode step: about 100 MB of garbage in 4 s (JFR), as much as everything else together.
     */
    static float[] sumsOf32(float[] x, int xOff, int k) {
        float[] sums = new float[k / 32];
        for (int s = 0; s < sums.length; s++) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + 32 * s);
            for (int l = L; l < 32; l += L) v = FloatVector.fromArray(F, x, xOff + 32 * s + l).add(v);
            sums[s] = sum(v);
        }
        return sums;
    }
}
