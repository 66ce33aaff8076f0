package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.TwoBitLanes.S;
import static io.ternion.kernels.cpu.TwoBitLanes.W;
import static io.ternion.kernels.cpu.TwoBitLanes.WEIGHTS;
import static io.ternion.kernels.cpu.Vec.LE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * TQ2_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[64], fp16 d}; byte m of half h holds
 * elements 128h + m + 32n at bits 2n. As {@code ggml_vec_dot_tq2_0_q8_K}: per block the exact
 * integer {@code sumi = Σ (c − 1)·q}, then {@code sumf += (float) sumi · (d_y · fp16(d_x))} in
 * float, block after block.
 *
 * <p>Four rows go together: each activation vector loaded serves four weight rows, and the four
 * rows' lane sums of a block are reduced together ({@link #sum4}) rather than one by one.
 */
final class TQ2_0MatMul extends ActivationKernel<Q8KActivations> {
    private static final int QK = 256, BYTES = 66;
    /** Within a block: the same for every block, so one order serves any K. */
    private static final int[] ORDER = TwoBitLanes.order(64, (b, f) -> b / 32 * 128 + b % 32 + 32 * f);
    private static final int VECTORS = 64 / TwoBitLanes.BYTES;

    private static final VectorSpecies<Long> LS = VectorSpecies.of(long.class, S.vectorShape());
    private static final int LL = LS.length();
    /** Odd short lanes (the high half of each int); short lanes 2, 3 of each long. */
    private static final VectorMask<Short> ODD = VectorMask.fromValues(S, lanes(W, 2, 1)),
            HIGH_PAIR = VectorMask.fromValues(S, lanes(W, 4, 2));
    private static final VectorShuffle<Long> X4 = VectorShuffle.fromOp(LS, i -> LL >= 8 ? i ^ 4 : i),
            X2 = VectorShuffle.fromOp(LS, i -> LL >= 4 ? i ^ 2 : i), X1 = VectorShuffle.fromOp(LS, i -> LL >= 2 ? i ^ 1 : i);

    private static boolean[] lanes(int n, int period, int from) {
        boolean[] m = new boolean[n];
        for (int i = 0; i < n; i++) m[i] = i % period >= from;
        return m;
    }

    @Override public GgmlType type() { return GgmlType.TQ2_0; }

    @Override
    Q8KActivations quantize(float[] x, int xOff, int k, int batch) {
        return Q8KActivations.quantize(x, xOff, k, batch, ORDER);
    }

    /**
     * The lane sums of four short vectors, modulo 2^16, as the four shorts of a long (row 0 in
     * bits 48..63, row 3 in bits 0..15). Only short-lane adds: every sum is the exact lane sum
     * modulo 2^16, as {@code reduceLanes} gives it.
     */
    private static long sum4(ShortVector a0, ShortVector a1, ShortVector a2, ShortVector a3) {
        // Pairs of lanes: row 0 (2) into the high short of each int, row 1 (3) into the low one.
        ShortVector p01 = a1.add(a1.reinterpretAsInts().lanewise(LSHR, 16).reinterpretAsShorts())
                .blend(a0.add(a0.reinterpretAsInts().lanewise(LSHL, 16).reinterpretAsShorts()), ODD);
        ShortVector p23 = a3.add(a3.reinterpretAsInts().lanewise(LSHR, 16).reinterpretAsShorts())
                .blend(a2.add(a2.reinterpretAsInts().lanewise(LSHL, 16).reinterpretAsShorts()), ODD);
        // Pairs of ints: rows 0, 1 into the high int of each long, rows 2, 3 into the low one.
        ShortVector v = p23.add(p23.reinterpretAsLongs().lanewise(LSHR, 32).reinterpretAsShorts())
                .blend(p01.add(p01.reinterpretAsLongs().lanewise(LSHL, 32).reinterpretAsShorts()), HIGH_PAIR);
        // Then the longs, short lane by short lane, in a butterfly: every long ends with the totals.
        if (LL >= 8) v = v.add(v.reinterpretAsLongs().rearrange(X4).reinterpretAsShorts());
        if (LL >= 4) v = v.add(v.reinterpretAsLongs().rearrange(X2).reinterpretAsShorts());
        if (LL >= 2) v = v.add(v.reinterpretAsLongs().rearrange(X1).reinterpretAsShorts());
        return v.reinterpretAsLongs().lane(0);
    }

    @Override
    void dot(MemorySegment w, int k, int from, int to, Q8KActivations act, int b, float[] y, int yOff) {
        int blocks = k / QK, blk0 = b * blocks, rs = blocks * BYTES;
        short[] a = act.q;
        int r = from;
        for (; r + 4 <= to; r += 4) {
            long o = (long) r * rs, end = o + rs;
            float f0 = 0, f1 = 0, f2 = 0, f3 = 0;
            for (int blk = blk0; o < end; o += BYTES, blk++) {
                ShortVector c0 = ShortVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                for (int v = 0; v < VECTORS; v++) {
                    long ov = o + (long) v * TwoBitLanes.BYTES;
                    int av = blk * QK + v * WEIGHTS;
                    ShortVector w0 = ShortVector.fromMemorySegment(S, w, ov, LE);
                    ShortVector w1 = ShortVector.fromMemorySegment(S, w, ov + rs, LE);
                    ShortVector w2 = ShortVector.fromMemorySegment(S, w, ov + 2L * rs, LE);
                    ShortVector w3 = ShortVector.fromMemorySegment(S, w, ov + 3L * rs, LE);
                    ShortVector x;
                    x = ShortVector.fromArray(S, a, av);
                    c0 = c0.add(w0.and((short) 3).mul(x));
                    c1 = c1.add(w1.and((short) 3).mul(x));
                    c2 = c2.add(w2.and((short) 3).mul(x));
                    c3 = c3.add(w3.and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 1 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 2).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 2).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 2).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 2).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 2 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 4).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 4).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 4).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 4).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 3 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 6).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 6).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 6).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 6).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 4 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 8).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 8).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 8).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 8).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 5 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 10).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 10).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 10).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 10).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 6 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 12).and((short) 3).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 12).and((short) 3).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 12).and((short) 3).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 12).and((short) 3).mul(x));
                    x = ShortVector.fromArray(S, a, av + 7 * W);
                    c0 = c0.add(w0.lanewise(LSHR, 14).mul(x));
                    c1 = c1.add(w1.lanewise(LSHR, 14).mul(x));
                    c2 = c2.add(w2.lanewise(LSHR, 14).mul(x));
                    c3 = c3.add(w3.lanewise(LSHR, 14).mul(x));
                }
                long t = sum4(c0, c1, c2, c3);
                int sa = act.sum[blk];
                float da = act.d[blk];
                float d0 = da * Float.float16ToFloat(w.get(Numbers.SHORT, o + 0L * rs + 64));
                f0 += (float) (short) ((short) (t >>> 48) - sa) * d0;
                float d1 = da * Float.float16ToFloat(w.get(Numbers.SHORT, o + 1L * rs + 64));
                f1 += (float) (short) ((short) (t >>> 32) - sa) * d1;
                float d2 = da * Float.float16ToFloat(w.get(Numbers.SHORT, o + 2L * rs + 64));
                f2 += (float) (short) ((short) (t >>> 16) - sa) * d2;
                float d3 = da * Float.float16ToFloat(w.get(Numbers.SHORT, o + 3L * rs + 64));
                f3 += (float) (short) ((short) (t >>> 0) - sa) * d3;
            }
            y[yOff + r] = f0;
            y[yOff + r + 1] = f1;
            y[yOff + r + 2] = f2;
            y[yOff + r + 3] = f3;
        }
        for (; r < to; r++) {
            long o = (long) r * rs;
            float sumf = 0;
            for (int i = 0; i < blocks; i++, o += BYTES) {
                ShortVector acc = TwoBitLanes.dot(w, o, a, (blk0 + i) * QK, VECTORS, ShortVector.zero(S));
                // Σc·q may pass 2^15, but Σ(c − 1)·q is within ±256·127: the lane sum is right
                // modulo 2^16, and so is the difference, which then fits a short exactly.
                int sumi = (short) (acc.reduceLanes(VectorOperators.ADD) - act.sum[blk0 + i]);
                float d = act.d[blk0 + i] * Float.float16ToFloat(w.get(Numbers.SHORT, o + 64));
                sumf += (float) sumi * d;
            }
            y[yOff + r] = sumf;
        }
    }
}
