package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.OR;
import static jdk.incubator.vector.VectorOperators.S2I;

import io.ternion.gguf.Numbers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q1_0 weights (±d, one bit each, fp16 d per 128) repacked once for a table-lookup kernel, as
 * {@link TernaryPanels} does for the ternary formats:
 * <ul>
 *   <li>Four weights' bits form a 4-bit index e; for each group of four activations a table holds
 *       Σ(2·bit_t(e) − 1)·a_t for all 16 e, written twice so that it fills 32 lanes: vpermw then
 *       ignores the index's bit 4, and a nibble n of a short is looked up as {@code v >>> 4n}
 *       without a mask.
 *   <li>Lane i of a 32-lane short vector is row i of a panel; a short holds 16 consecutive weights
 *       of its row, exactly the file's two bytes, so packing is a transposition.
 *   <li>Q8_0 activations have a scale per 32, so the exact short sums are turned to float every two
 *       steps, as {@code ggml_vec_dot_q1_0_q8_0} does: {@code sumi += d_y·(float) Σ±q} over the four
 *       32-blocks of a weight block, then {@code sumf += d_x·sumi}.
 * </ul>
 * Layout: panels of 64 rows, K in chunks of 128 (one weight block); chunk-major, and within a chunk
 * panel by panel, each panel's 8 steps of 128 bytes followed by its 64 fp16 scales: 1152 bytes per
 * chunk and panel, the file's size.
 */
final class BinaryPanels {
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int LANES = 32, ROWS = 2 * LANES, CHUNK = 128, STEPS = CHUNK / 16, TABLE = 32;
    static final int STEP_BYTES = 2 * ROWS, CODE_BYTES = STEPS * STEP_BYTES, BLOCK_BYTES = CODE_BYTES + 2 * ROWS;
    /** Shorts of one vector's tables per chunk: a table per four activations. */
    static final int CHUNK_TABLES = CHUNK / 4 * TABLE;
    private static final int QK = 128, FILE_BLOCK = 18;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    final int k, n, chunks, panels;
    final MemorySegment data;

    private BinaryPanels(int k, int n) {
        this.k = k;
        this.n = n;
        chunks = k / CHUNK;
        panels = (n + ROWS - 1) / ROWS;
        data = Arena.ofAuto().allocate((long) chunks * panels * BLOCK_BYTES, 64);
    }

    long bytes() { return data.byteSize(); }

    /** Packs the n × k Q1_0 matrix {@code w}, panels in parallel over the pool. */
    static BinaryPanels pack(MemorySegment w, int k, int n, WorkerPool pool) {
        BinaryPanels p = new BinaryPanels(k, n);
        int rowBytes = k / QK * FILE_BLOCK;
        pool.parallelFor(p.panels, (from, to) -> {
            byte[] rows = new byte[ROWS * rowBytes];
            short[] block = new short[BLOCK_BYTES / 2];
            for (int panel = from; panel < to; panel++) {
                int r0 = panel * ROWS, count = Math.min(ROWS, n - r0);
                MemorySegment.copy(w, Numbers.BYTE, (long) r0 * rowBytes, rows, 0, count * rowBytes);
                // Rows past n are zero: weights of −d with d = 0.
                if (count < ROWS) java.util.Arrays.fill(rows, count * rowBytes, rows.length, (byte) 0);
                for (int c = 0; c < p.chunks; c++) {
                    // A file block, fp16 d then 8 shorts of weights, is two longs and a short:
                    // the short d to the block's scales, the others to their steps.
                    for (int i = 0, o = c * FILE_BLOCK; i < ROWS; i++, o += rowBytes) {
                        long a = (long) LONG.get(rows, o), b = (long) LONG.get(rows, o + 8);
                        block[STEPS * ROWS + i] = (short) a;
                        block[i] = (short) (a >>> 16);
                        block[ROWS + i] = (short) (a >>> 32);
                        block[2 * ROWS + i] = (short) (a >>> 48);
                        block[3 * ROWS + i] = (short) b;
                        block[4 * ROWS + i] = (short) (b >>> 16);
                        block[5 * ROWS + i] = (short) (b >>> 32);
                        block[6 * ROWS + i] = (short) (b >>> 48);
                        block[7 * ROWS + i] = (short) SHORT16.get(rows, o + 16);
                    }
                    MemorySegment.copy(block, 0, p.data, SHORT, ((long) c * p.panels + panel) * BLOCK_BYTES, block.length);
                }
            }
        });
        return p;
    }

    /** Four and one little-endian shorts at any byte offset of a {@code byte[]}. */
    private static final java.lang.invoke.VarHandle LONG = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, LE),
            SHORT16 = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, LE);

    /** B_t lane e: the sign (2·bit − 1) that entry e (mod 16) gives activation t of its group. */
    private static final ShortVector B0 = signs(0), B1 = signs(1), B2 = signs(2), B3 = signs(3);

    private static ShortVector signs(int t) {
        short[] c = new short[LANES];
        for (int e = 0; e < LANES; e++) c[e] = (short) (2 * ((e >> t) & 1) - 1);
        return ShortVector.fromArray(S, c, 0);
    }

    /** The tables of one activation vector (q[qOff..qOff + k), natural order) into {@code out[outOff..)}. */
    static void tables(short[] q, int qOff, int k, short[] out, int outOff) {
        for (int g = 0; g < k / 4; g++) {
            int at = qOff + 4 * g;
            B0.mul(q[at]).add(B1.mul(q[at + 1])).add(B2.mul(q[at + 2]).add(B3.mul(q[at + 3]))).intoArray(out, outOff + g * TABLE);
        }
    }

    /**
     * Panels [from, to) against every vector's tables, into {@code fsum} (vector b's row r at
     * {@code b·panels·64 + r}, zeroed by the caller): {@code d} holds the Q8_0 scales, k/32 per vector.
     */
    void dot(int from, int to, short[] tab, int batch, float[] d, float[] fsum) {
        int width = panels * ROWS, subs = k / 32;
        for (int c = 0; c < chunks; c++) {
            for (int b = 0; b < batch; b++) {
                int t0 = (b * chunks + c) * CHUNK_TABLES, d0 = b * subs + 4 * c;
                long o = ((long) c * panels + from) * BLOCK_BYTES;
                for (int p = from; p < to; p++, o += BLOCK_BYTES) block(o, tab, t0, d, d0, fsum, b * width + p * ROWS);
            }
        }
    }

    /**
     * One chunk of one panel into fsum[at..at + 64). A method of its own,
     * with every vector operation written out in it: as part of the loop nest in {@link #dot}, or
     * with helpers taking vectors, C2 left some Vector API calls out of line, and those ran as
     * Java code allocating their vectors (5 GB/s of garbage, 7× slower).
     */
    private void block(long o, short[] tab, int t, float[] d, int d0, float[] fsum, int at) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        long w = o;
        for (int sub = 0; sub < 4; sub++) {
            // A 32-block is two steps: rows 0..31 sum into lo, 32..63 into hi.
            ShortVector lo = ShortVector.zero(S), hi = lo;
            for (int step = 0; step < 2; step++, w += STEP_BYTES, t += 4 * TABLE) {
                ShortVector v = ShortVector.fromMemorySegment(S, data, w, LE);
                ShortVector u = ShortVector.fromMemorySegment(S, data, w + 2 * LANES, LE);
                ShortVector x0 = ShortVector.fromArray(S, tab, t), x1 = ShortVector.fromArray(S, tab, t + TABLE);
                ShortVector x2 = ShortVector.fromArray(S, tab, t + 2 * TABLE), x3 = ShortVector.fromArray(S, tab, t + 3 * TABLE);
                lo = lo.add(v.selectFrom(x0).add(v.lanewise(LSHR, 4).selectFrom(x1))
                        .add(v.lanewise(LSHR, 8).selectFrom(x2).add(v.lanewise(LSHR, 12).selectFrom(x3))));
                hi = hi.add(u.selectFrom(x0).add(u.lanewise(LSHR, 4).selectFrom(x1))
                        .add(u.lanewise(LSHR, 8).selectFrom(x2).add(u.lanewise(LSHR, 12).selectFrom(x3))));
            }
            float dy = d[d0 + sub];
            s0 = s0.add(((FloatVector) lo.convertShape(S2I, I, 0).convert(I2F, 0)).mul(dy));
            s1 = s1.add(((FloatVector) lo.convertShape(S2I, I, 1).convert(I2F, 0)).mul(dy));
            s2 = s2.add(((FloatVector) hi.convertShape(S2I, I, 0).convert(I2F, 0)).mul(dy));
            s3 = s3.add(((FloatVector) hi.convertShape(S2I, I, 1).convert(I2F, 0)).mul(dy));
        }
        // fsum += fp16 d · sumi. The halves are widened to floats exactly as Vec.halfToFloat does,
        // written out here: a helper taking vectors was not inlined (see above).
        ShortVector h01 = ShortVector.fromMemorySegment(S, data, o + CODE_BYTES, LE);
        ShortVector h23 = ShortVector.fromMemorySegment(S, data, o + CODE_BYTES + 2 * LANES, LE);
        IntVector h = (IntVector) h01.convertShape(S2I, I, 0);
        FloatVector m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        FloatVector dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
        FloatVector.fromArray(F, fsum, at).add(dx.mul(s0)).intoArray(fsum, at);
        h = (IntVector) h01.convertShape(S2I, I, 1);
        m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
        FloatVector.fromArray(F, fsum, at + 16).add(dx.mul(s1)).intoArray(fsum, at + 16);
        h = (IntVector) h23.convertShape(S2I, I, 0);
        m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
        FloatVector.fromArray(F, fsum, at + 32).add(dx.mul(s2)).intoArray(fsum, at + 32);
        h = (IntVector) h23.convertShape(S2I, I, 1);
        m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
        FloatVector.fromArray(F, fsum, at + 48).add(dx.mul(s3)).intoArray(fsum, at + 48);
    }
}
