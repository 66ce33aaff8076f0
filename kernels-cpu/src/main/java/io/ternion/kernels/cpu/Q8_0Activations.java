package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.I;
import static io.ternion.kernels.cpu.Vec.L;

import io.ternion.gguf.Numbers;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * llama.cpp's Q8_0 activations for Q1_0 and Q2_0 ({@code quantize_row_q8_0_ref}, as gguf's Q8_0Codec):
 * blocks of 32, {@code d = amax/127}, {@code q = roundf(x/d)} (halves away from zero, computed as
 * x·(1/d)), and d stored as fp16: the dot product uses the fp16-rounded d, which is kept here
 * already widened back to float.
 */
final class Q8_0Activations {
    static final int QK = 32;
    /**
     * The arrays of the calling thread's last quantization, reused by its next one: a decode step
     * quantizes about a hundred vectors, and their fresh arrays (0.7 MB a token on Bonsai-1.7B) were
     * most of its garbage. A quantization's arrays are only read until its matmul returns.
     */
    private static final ThreadLocal<short[]> Q = ThreadArrays.shorts();
    private static final ThreadLocal<float[]> D = ThreadArrays.floats();

    final int k;
    /** batch × k values, natural order (the array may be longer). */
    final short[] q;
    /** fp16(d) as float, per block of 32 (the array may be longer). */
    final float[] d;

    private Q8_0Activations(int k, int batch) {
        this.k = k;
        q = ThreadArrays.atLeast(Q, batch * k);
        d = ThreadArrays.atLeastFloats(D, batch * k / QK);
    }

    static Q8_0Activations quantize(float[] x, int xOff, int k, int batch) {
        Q8_0Activations a = unquantized(k, batch);
        quantize(x, xOff, a.q, a.d, 0, batch * k / QK);
        return a;
    }

    /** Arrays for {@code batch} rows of k, to be filled by {@link #quantize(float[], int, short[], float[], int, int)}. */
    static Q8_0Activations unquantized(int k, int batch) {
        if (k % QK != 0) throw new IllegalArgumentException("Q8_0 needs rows of a multiple of 32, got " + k);
        return new Q8_0Activations(k, batch);
    }

    /** Blocks [from, to) of x (from xOff) into q (32 per block) and d (one per block). */
    static void quantize(float[] x, int xOff, short[] q, float[] d, int from, int to) {
        // The reference's steps with vectors (quantizeBlock is the scalar statement of them): the
        // largest |x| is the largest of the floats' bits without their signs, as ints (a NaN's bits
        // are above infinity's, so a NaN still wins, as in Math.max), and halves round away from zero
        // on the magnitude, which then takes the value's sign. With a float max (Java's NaN rules)
        // and sign arithmetic through a mask's vector, a 2560-wide vector took 1.7 µs, now 1.0.
        for (int i = from; i < to; i++) {
            int off = xOff + i * QK;
            IntVector m = IntVector.zero(I);
            for (int l = 0; l < QK; l += L) m = ((IntVector) FloatVector.fromArray(F, x, off + l).reinterpretShape(I, 0)).and(0x7fffffff).max(m);
            float scale = Float.intBitsToFloat(m.reduceLanes(VectorOperators.MAX)) / 127;
            float id = scale != 0 ? 1.0f / scale : 0.0f;
            for (int l = 0; l < QK; l += L) {
                FloatVector v = FloatVector.fromArray(F, x, off + l).mul(id), a = v.abs();
                IntVector t = (IntVector) a.convertShape(VectorOperators.F2I, I, 0);
                FloatVector frac = a.sub((FloatVector) t.convertShape(VectorOperators.I2F, F, 0));
                t = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(I)).lanewise(VectorOperators.NEG, v.compare(VectorOperators.LT, 0f).cast(I));
                ((ShortVector) t.convertShape(VectorOperators.I2S, Vec.S, 0)).intoArray(q, i * QK + l);
            }
            d[i] = Float.float16ToFloat(Numbers.floatToHalf(scale));
        }
    }

    /** One block of 32 into {@code out}; returns fp16(d) widened to float. */
    static float quantizeBlock(float[] x, int off, byte[] out) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < QK; j++) out[j] = (byte) Numbers.roundHalfAway(x[off + j] * id);
        return Float.float16ToFloat(Numbers.floatToHalf(d));
    }
}
