package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.OR;
import static jdk.incubator.vector.VectorOperators.S2I;

import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q2_0 weights (2-bit codes for −1, 0, +1, +2, an fp16 d per block of 64 or 128) repacked once for
 * the table-lookup kernel of {@link BinaryPanels}, whose instructions it shares: only what a short of
 * a row holds differs.
 * <ul>
 *   <li>A short holds 8 weights, exactly two bytes of the file (element j of a block is at bits
 *       2·(j % 8) of its short j / 8, little-endian), so packing is a transposition, as for Q1_0. The
 *       four codes rule out the ternary panels' base-3 indices, which have no +2.
 *   <li>Weights 0–2 and 3–5 (6 bits each) index 64-entry tables (two vectors, {@code vpermi2w}),
 *       weights 6–7 (4 bits) a 16-entry one written twice to fill 32 lanes. Entry e holds
 *       Σ(c_t(e) − 1)·a_t over its activations; the shifts {@code v >>> 6} and {@code v >>> 12} select
 *       the indices without a mask, because the lookups wrap their indices. Three lookups per 8
 *       weights: per byte of weights the same work as Q1_0 (three per 16 one-bit weights).
 *   <li>Q8_0 activations have a scale per 32, i.e. per four steps, so the exact short sums are turned
 *       to float every four steps, as {@code ggml_vec_dot_q2_0_q8_0} does:
 *       {@code sumi += d_y·(float) Σ(c − 1)·q} over the 32-blocks of a weight block, then
 *       {@code sumf += d_x·sumi}. A 32-block's sum is at most 32·2·127 in magnitude, within a short.
 * </ul>
 * Layout: panels of 64 rows, K in chunks of one weight block (8 or 16 steps), a stripe of panels
 * per thread as in {@link TernaryPanels}, in a stripe chunk by chunk and within a chunk panel by
 * panel; each panel's steps of 128 bytes are followed by its 64 fp16 scales: the file's size.
 */
final class TwoBitPanels extends Q8TablePanels {
    /* 512 bits, not Vec's preferred species, for BinaryPanels' reasons (one vpermw / vpermi2w per lookup). */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int LANES = 32, ROWS = 2 * LANES, TABLE = 32, WEIGHTS_PER_STEP = 8, STEPS_PER_32 = 32 / WEIGHTS_PER_STEP;
    static final int STEP_BYTES = 2 * ROWS;
    /** Shorts of one step's tables: 64 entries for weights 0–2, 64 for 3–5, 32 for 6–7. */
    static final int STEP_TABLES = 5 * TABLE;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /** The weight block (64 or 128 elements), which is the chunk. */
    final int qk;
    final int steps, codeBytes, blockBytes;
    /** Shorts of one vector's tables per chunk. */
    final int chunkTables;

    private TwoBitPanels(int qk, int k, int n, int threads) {
        super(k, n, qk, threads, qk / WEIGHTS_PER_STEP * STEP_BYTES + 2 * ROWS);
        this.qk = qk;
        steps = qk / WEIGHTS_PER_STEP;
        codeBytes = steps * STEP_BYTES;
        blockBytes = codeBytes + 2 * ROWS;
        chunkTables = steps * STEP_TABLES;
    }

    @Override int tablesPerVector() { return chunks * chunkTables; }

    @Override
    void tables(short[] q, int qOff, short[] out, int outOff) {
        tables(q, qOff, k, out, outOff);
    }

    /** Packs the n × k Q2_0 matrix {@code w} of blocks of {@code qk}, panels in parallel over the pool. */
    static TwoBitPanels pack(MemorySegment w, int qk, int k, int n, WorkerPool pool) {
        TwoBitPanels p = new TwoBitPanels(qk, k, n, pool.threads());
        int fileBlock = 2 + qk / 4, rowBytes = k / qk * fileBlock;
        pool.parallelFor(p.panels, (from, to) -> {
            byte[] rows = new byte[ROWS * rowBytes];
            MemorySegment src = MemorySegment.ofArray(rows);
            short[] block = new short[p.blockBytes / 2];
            for (int panel = from; panel < to; panel++) {
                int r0 = panel * ROWS, count = Math.min(ROWS, n - r0);
                MemorySegment.copy(w, Numbers.BYTE, (long) r0 * rowBytes, rows, 0, count * rowBytes);
                // Rows past n are zero: weights of −d with d = 0.
                if (count < ROWS) Arrays.fill(rows, count * rowBytes, rows.length, (byte) 0);
                for (int c = 0; c < p.chunks; c++) {
                    // A file block is fp16 d, then one short per step: d to the block's scales, the others to their steps.
                    for (int i = 0, o = c * fileBlock; i < ROWS; i++, o += rowBytes) {
                        block[p.steps * ROWS + i] = src.get(SHORT, o);
                        for (int s = 0; s < p.steps; s++) block[s * ROWS + i] = src.get(SHORT, o + 2 + 2L * s);
                    }
                    MemorySegment.copy(block, 0, p.data, SHORT, p.offset(c, panel), block.length);
                }
            }
        });
        return p;
    }

    /** W_t lane e: the weight (c − 1) that entry e gives activation t of its group (bits 2t of e). */
    private static final ShortVector W0 = weights(0, 0), W1 = weights(1, 0), W2_LO = weights(2, 0), W2_HI = weights(2, 32);

    private static ShortVector weights(int t, int first) {
        short[] c = new short[LANES];
        for (int e = 0; e < LANES; e++) c[e] = (short) (((first + e) >> (2 * t) & 3) - 1);
        return ShortVector.fromArray(S, c, 0);
    }

    /** The tables of one activation vector (q[qOff..qOff + k), natural order) into {@code out[outOff..)}. */
    static void tables(short[] q, int qOff, int k, short[] out, int outOff) {
        for (int s = 0; s < k / WEIGHTS_PER_STEP; s++) {
            int at = qOff + WEIGHTS_PER_STEP * s, o = outOff + s * STEP_TABLES;
            three(q, at, out, o);
            three(q, at + 3, out, o + 2 * TABLE);
            // Lanes 16..31 repeat 0..15: W0 and W1 depend on the low four bits of the lane only.
            W0.mul(q[at + 6]).add(W1.mul(q[at + 7])).intoArray(out, o + 4 * TABLE);
        }
    }

    /** The 64 entries of three activations: entries 0..31 have code 0 or 1 for the third, 32..63 code 2 or 3. */
    private static void three(short[] q, int at, short[] out, int o) {
        ShortVector two = W0.mul(q[at]).add(W1.mul(q[at + 1]));
        two.add(W2_LO.mul(q[at + 2])).intoArray(out, o);
        two.add(W2_HI.mul(q[at + 2])).intoArray(out, o + TABLE);
    }

    /**
     * Panels [from, to) against every vector's tables, into {@code fsum} (vector b's row r at
     * {@code b·(to − from)·64 + r − from·64}, zeroed by the caller): {@code d} holds the Q8_0 scales, k/32 per vector.
     */
    @Override
    void dot(int from, int to, short[] tab, int batch, float[] d, float[] fsum) {
        int span = (to - from) * ROWS, subs = k / 32;
        for (int s0 = from; s0 < to; s0 += stripeWidth) {
            int s1 = Math.min(s0 + stripeWidth, to);
            for (int c = 0; c < chunks; c++) {
                for (int b = 0; b < batch; b++) {
                    int t0 = (b * chunks + c) * chunkTables, d0 = b * subs + qk / 32 * c;
                    block(offset(c, s0), s1 - s0, tab, t0, d, d0, fsum, b * span + (s0 - from) * ROWS);
                }
            }
        }
    }

    /** Where chunk c of panel p starts: stripe by stripe, in a stripe chunk by chunk, then panel by panel. */
    long offset(int c, int p) {
        int s0 = p - p % stripeWidth;
        return ((long) s0 * chunks + (long) c * Math.min(stripeWidth, panels - s0) + p - s0) * blockBytes;
    }

    /**
     * One chunk of {@code count} consecutive panels (from byte o) into fsum[at..at + 64·count). A
     * method of its own with every vector operation written out in it, for the reason
     * {@link BinaryPanels} gives (C2 otherwise left Vector API calls out of line, allocating their
     * vectors), and shaped for C2 as {@code BinaryPanels.block} is (one call per chunk and stripe, the
     * segment in a local, a slice per panel's chunk, indices shifted as ints, fused multiply-adds),
     * except that a 32-block's four steps are written out in a loop over the chunk's two or four
     * 32-blocks (the block size varies). As a loop of their own the four steps took 53 instructions
     * each (loop upkeep and two range checks), written out 43.
     */
    private void block(long o, int count, short[] tab, int t, float[] d, int d0, float[] fsum, int at) {
        MemorySegment seg = data;
        int subs = qk / 32;
        for (int i = 0; i < count; i++) {
            MemorySegment w = seg.asSlice(o + (long) i * blockBytes, blockBytes);
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int sub = 0; sub < subs; sub++) {
                // A 32-block is four steps: rows 0..31 sum into lo, 32..63 into hi. The lookups read
                // only the low 6 or 5 bits of each short, which an int shift by under 16 leaves as a
                // short shift does (v >>> 12 as ints may leave bit 4 set from the next short: lanes
                // 16..31 of the 16-entry table repeat 0..15).
                long at0 = (long) sub * STEPS_PER_32 * STEP_BYTES;
                int t0 = t + sub * STEPS_PER_32 * STEP_TABLES;
                IntVector v, u;
                ShortVector a0, a1, b0, b1, c, lo, hi;
                v = ShortVector.fromMemorySegment(S, w, at0, LE).reinterpretAsInts();
                u = ShortVector.fromMemorySegment(S, w, at0 + 2 * LANES, LE).reinterpretAsInts();
                a0 = ShortVector.fromArray(S, tab, t0);
                a1 = ShortVector.fromArray(S, tab, t0 + TABLE);
                b0 = ShortVector.fromArray(S, tab, t0 + 2 * TABLE);
                b1 = ShortVector.fromArray(S, tab, t0 + 3 * TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 4 * TABLE);
                lo = v.reinterpretAsShorts().selectFrom(a0, a1).add(v.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(v.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c));
                hi = u.reinterpretAsShorts().selectFrom(a0, a1).add(u.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(u.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c));
                v = ShortVector.fromMemorySegment(S, w, at0 + 1 * STEP_BYTES, LE).reinterpretAsInts();
                u = ShortVector.fromMemorySegment(S, w, at0 + 1 * STEP_BYTES + 2 * LANES, LE).reinterpretAsInts();
                a0 = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES);
                a1 = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + TABLE);
                b0 = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + 2 * TABLE);
                b1 = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + 3 * TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + 4 * TABLE);
                lo = lo.add(v.reinterpretAsShorts().selectFrom(a0, a1).add(v.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(v.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                hi = hi.add(u.reinterpretAsShorts().selectFrom(a0, a1).add(u.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(u.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                v = ShortVector.fromMemorySegment(S, w, at0 + 2 * STEP_BYTES, LE).reinterpretAsInts();
                u = ShortVector.fromMemorySegment(S, w, at0 + 2 * STEP_BYTES + 2 * LANES, LE).reinterpretAsInts();
                a0 = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES);
                a1 = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + TABLE);
                b0 = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + 2 * TABLE);
                b1 = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + 3 * TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + 4 * TABLE);
                lo = lo.add(v.reinterpretAsShorts().selectFrom(a0, a1).add(v.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(v.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                hi = hi.add(u.reinterpretAsShorts().selectFrom(a0, a1).add(u.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(u.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                v = ShortVector.fromMemorySegment(S, w, at0 + 3 * STEP_BYTES, LE).reinterpretAsInts();
                u = ShortVector.fromMemorySegment(S, w, at0 + 3 * STEP_BYTES + 2 * LANES, LE).reinterpretAsInts();
                a0 = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES);
                a1 = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + TABLE);
                b0 = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + 2 * TABLE);
                b1 = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + 3 * TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + 4 * TABLE);
                lo = lo.add(v.reinterpretAsShorts().selectFrom(a0, a1).add(v.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(v.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                hi = hi.add(u.reinterpretAsShorts().selectFrom(a0, a1).add(u.lanewise(LSHR, 6).reinterpretAsShorts().selectFrom(b0, b1)).add(u.lanewise(LSHR, 12).reinterpretAsShorts().selectFrom(c)));
                // Each product is exact (a sum of at most 13 bits times an fp16 scale's 11), so a fused
                // multiply-add rounds as the reference's multiply, then add.
                FloatVector dy = FloatVector.broadcast(F, d[d0 + sub]);
                s0 = ((FloatVector) lo.convertShape(S2I, I, 0).convert(I2F, 0)).fma(dy, s0);
                s1 = ((FloatVector) lo.convertShape(S2I, I, 1).convert(I2F, 0)).fma(dy, s1);
                s2 = ((FloatVector) hi.convertShape(S2I, I, 0).convert(I2F, 0)).fma(dy, s2);
                s3 = ((FloatVector) hi.convertShape(S2I, I, 1).convert(I2F, 0)).fma(dy, s3);
            }
            int f = at + i * ROWS;
            // fsum += fp16 d · sumi, the halves widened exactly as Vec.halfToFloat does, written out (see above).
            long sc = codeBytes;
            ShortVector h01 = ShortVector.fromMemorySegment(S, w, sc, LE);
            ShortVector h23 = ShortVector.fromMemorySegment(S, w, sc + 2 * LANES, LE);
            IntVector h = (IntVector) h01.convertShape(S2I, I, 0);
            FloatVector m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            FloatVector dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                    .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
            FloatVector.fromArray(F, fsum, f).add(dx.mul(s0)).intoArray(fsum, f);
            h = (IntVector) h01.convertShape(S2I, I, 1);
            m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                    .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
            FloatVector.fromArray(F, fsum, f + 16).add(dx.mul(s1)).intoArray(fsum, f + 16);
            h = (IntVector) h23.convertShape(S2I, I, 0);
            m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                    .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
            FloatVector.fromArray(F, fsum, f + 32).add(dx.mul(s2)).intoArray(fsum, f + 32);
            h = (IntVector) h23.convertShape(S2I, I, 1);
            m = h.and(0x7fff).lanewise(LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
            dx = m.reinterpretAsInts().lanewise(OR, 0x7f800000, h.and(0x7c00).compare(EQ, 0x7c00))
                    .or(h.lanewise(LSHL, 16).and(0x80000000)).reinterpretAsFloats();
            FloatVector.fromArray(F, fsum, f + 48).add(dx.mul(s3)).intoArray(fsum, f + 48);
        }
    }
}
