package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * TQ1_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[48], uint8 qh[4], fp16 d}, five base-3
 * digits per byte as a fixed-point fraction: digit n of byte q is {@code ((q·3^n mod 256)·3) >> 8}.
 * qs[0..31] hold elements m + 32n, qs[32..47] hold 160 + m + 16n, qh[j] holds 240 + j + 4n. As
 * {@code ggml_vec_dot_tq1_0_q8_K}: the exact integer Σ(t − 1)·q per block, then
 * {@code sumf += (float) sum · (fp16(d_x) · d_y)}.
 *
 * <p>A byte's five digits land on elements 32 (or 16) apart, so with one byte per short lane each
 * digit n meets a contiguous run of activations: no reordering is needed.
 */
final class TQ1_0MatMul extends ActivationKernel<Q8KActivations> {
    private static final int QK = 256, BYTES = 54;
    private static final VectorSpecies<Short> S = TwoBitLanes.S;
    private static final int W = S.length();
    private static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(W * 8));
    private static final short[] POW3 = {1, 3, 9, 27, 81};

    @Override public GgmlType type() { return GgmlType.TQ1_0; }

    @Override
    Q8KActivations quantize(float[] x, int xOff, int k, int batch) {
        return Q8KActivations.quantize(x, xOff, k, batch, null);
    }

    @Override
    void dot(MemorySegment w, int k, int from, int to, Q8KActivations act, int b, float[] y, int yOff) {
        int blocks = k / QK, blk0 = b * blocks;
        short[] a = act.q;
        for (int r = from; r < to; r++) {
            long o = (long) r * blocks * BYTES;
            float sumf = 0;
            for (int i = 0; i < blocks; i++, o += BYTES) {
                int ab = (blk0 + i) * QK;
                ShortVector acc = ShortVector.zero(S);
                for (int h = 0; h < 32; h += W) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BW, w, o + h, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                    for (int n = 0; n < 5; n++) acc = acc.add(digit(q, n).mul(ShortVector.fromArray(S, a, ab + 32 * n + h)));
                }
                // qs[32..47] and qh scalar: a 16-lane (256-bit) short vector beside the 512-bit ones
                // made the whole kernel 4× slower (28 → 7 ms per 2560×6912 matvec without it).
                int tail = 0;
                for (int m = 0; m < 16; m++) {
                    int q = w.get(Numbers.BYTE, o + 32 + m) & 0xFF;
                    for (int n = 0; n < 5; n++) tail += ((((q * POW3[n]) & 0xFF) * 3) >> 8) * a[ab + 160 + m + 16 * n];
                }
                for (int j = 0; j < 4; j++) {
                    int q = w.get(Numbers.BYTE, o + 48 + j) & 0xFF;
                    for (int n = 0; n < 4; n++) tail += ((((q * POW3[n]) & 0xFF) * 3) >> 8) * a[ab + 240 + j + 4 * n];
                }
                // The short sums are right modulo 2^16 and Σ(t − 1)·q is within ±256·127.
                int sum = (short) (acc.reduceLanes(VectorOperators.ADD) + tail - act.sum[blk0 + i]);
                sumf += (float) sum * (Float.float16ToFloat(w.get(Numbers.SHORT, o + 52)) * act.d[blk0 + i]);
            }
            y[yOff + r] = sumf;
        }
    }

    /** Digit n of each byte lane (0..255): the product's low byte, times 3, top bits. */
    private static ShortVector digit(ShortVector q, int n) {
        return q.mul(POW3[n]).and((short) 0xFF).mul((short) 3).lanewise(VectorOperators.LSHR, 8);
    }
}
