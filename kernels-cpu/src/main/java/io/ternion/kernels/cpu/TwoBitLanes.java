package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loop shared by the 2-bit formats (I2_S, TQ2_0). The Vector API has no u8×s8
 * multiply-add (maddubs/VNNI), so the weights are read as 16-bit lanes: field u (bits 2u..2u+1) of
 * every lane is one code 0..2, taken out with a shift and a mask, and multiplied with activations
 * stored as shorts. Each lane's 8 fields are 8 elements scattered over the block; instead of moving
 * the codes to the activations, the activations are quantized once per call straight into that
 * order ({@link #order}), so the hot loop is shift, and, multiply, add — four operations per W
 * weights, and no widening.
 *
 * <p>Products are at most 2·128 in magnitude, so a short lane can take 128 of them (16 vectors of
 * 8 fields) before it must be widened: the sums stay exact.
 */
final class TwoBitLanes {
    private TwoBitLanes() {}

    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED;
    /** Shorts per vector; one vector covers 2W bytes, 8W weights. */
    static final int W = S.length();
    static final int BYTES = 2 * W, WEIGHTS = 8 * W;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Vectors whose 8 fields a short lane can accumulate without overflow. */
    static final int FLUSH = 16;

    /** Where the code in bits 2f..2f+1 of a byte goes, for one format's byte layout. */
    interface Layout {
        int element(int byteIndex, int field);
    }

    /**
     * For {@code bytes} weight bytes (a multiple of 2W) laid out by {@code layout}: position p of the
     * activation order holds element order[p]. Vector v, field u, lane i reads the short at
     * v·W + i, whose low byte holds fields u = 0..3 and high byte u = 4..7.
     */
    static int[] order(int bytes, Layout layout) {
        int[] order = new int[bytes * 4];
        for (int v = 0; v < bytes / BYTES; v++) {
            for (int u = 0; u < 8; u++) {
                for (int i = 0; i < W; i++) {
                    int s = v * W + i;
                    order[v * WEIGHTS + u * W + i] = layout.element(2 * s + (u >= 4 ? 1 : 0), u & 3);
                }
            }
        }
        return order;
    }

    /** acc + Σ code·a over {@code vectors} vectors of weights from byte o, activations from a[ao]. */
    static ShortVector dot(MemorySegment w, long o, short[] a, int ao, int vectors, ShortVector acc) {
        for (int v = 0; v < vectors; v++, o += BYTES, ao += WEIGHTS) {
            ShortVector bits = ShortVector.fromMemorySegment(S, w, o, LE);
            ShortVector p0 = bits.and((short) 3).mul(ShortVector.fromArray(S, a, ao));
            ShortVector p1 = bits.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(ShortVector.fromArray(S, a, ao + W));
            ShortVector p2 = bits.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(ShortVector.fromArray(S, a, ao + 2 * W));
            ShortVector p3 = bits.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(ShortVector.fromArray(S, a, ao + 3 * W));
            ShortVector p4 = bits.lanewise(VectorOperators.LSHR, 8).and((short) 3).mul(ShortVector.fromArray(S, a, ao + 4 * W));
            ShortVector p5 = bits.lanewise(VectorOperators.LSHR, 10).and((short) 3).mul(ShortVector.fromArray(S, a, ao + 5 * W));
            ShortVector p6 = bits.lanewise(VectorOperators.LSHR, 12).and((short) 3).mul(ShortVector.fromArray(S, a, ao + 6 * W));
            ShortVector p7 = bits.lanewise(VectorOperators.LSHR, 14).mul(ShortVector.fromArray(S, a, ao + 7 * W));
            // A tree, not a chain, so the adds of one vector do not wait on each other.
            acc = acc.add(p0.add(p1).add(p2.add(p3)).add(p4.add(p5).add(p6.add(p7))));
        }
        return acc;
    }

    /** The short lanes widened and added to an int accumulator (exact). */
    static IntVector widen(ShortVector acc, IntVector sum) {
        return sum.add(acc.convertShape(VectorOperators.S2I, I, 0)).add(acc.convertShape(VectorOperators.S2I, I, 1));
    }
}
