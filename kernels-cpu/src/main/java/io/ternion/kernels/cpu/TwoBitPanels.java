package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.EQ;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.OR;

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
 * a table-lookup kernel like {@link BinaryPanels}': only what a short of a row holds and how it is
 * split differ.
 * <ul>
 *   <li>A short holds 8 weights, exactly two bytes of the file (element j of a block is at bits
 *       2·(j % 8) of its short j / 8, little-endian), so packing is a transposition, as for Q1_0. The
 *       four codes rule out the ternary panels' base-3 indices, which have no +2.
 *   <li>A code c = 2h + l is two bits that each add a multiple of their activation (l·a, h·2a), so a
 *       table can take any five bits of a short, whole codes or not: bits 0–4 (weights 0, 1 and the
 *       low bit of 2), 5–9 (the high bit of 2, weights 3, 4) and 10–14 (weights 5, 6, the low bit of
 *       7) each index a 32-entry table (one vector, {@code vpermw}); entry e holds Σ bit·coefficient
 *       over its bits, with the −a of each weight whose low bit it holds. Bit 15, the high bit of
 *       weight 7, is the short's sign: 2·a7 is added where it is negative (a masked add). The
 *       shifts {@code v >>> 5} and {@code v >>> 10} select the indices without a mask, because the
 *       lookups wrap their indices.
 *       Three one-vector lookups per 8 weights, where whole codes (3 + 3 + 2 weights, two of them
 *       in 64-entry two-vector tables) took two {@code vpermi2w}, the register copies they
 *       destroy, and five table vectors a step: C2 then spilled the sums (about 45 instructions a
 *       step in its assembly; the new step is 32 operations as written).
 *   <li>Each 32-lane short vector holds 32 rows of a panel, interleaved as in BinaryPanels
 *       ({@link BinaryPanels#lane}), so that each half of an int lane is one row's sum: widened by
 *       two int shifts, not by a shuffle of the upper half (which C2 made a vpermw and a blend with
 *       constants it reloaded).
 *   <li>Q8_0 activations have a scale per 32, i.e. per four steps, so the exact short sums are turned
 *       to float every four steps, as {@code ggml_vec_dot_q2_0_q8_0} does:
 *       {@code sumi += d_y·(float) Σ(c − 1)·q} over the 32-blocks of a weight block, then
 *       {@code sumf += d_x·sumi}. A 32-block's sum is at most 32·2·127 in magnitude, within a short.
 * </ul>
 * Layout: panels of 64 rows, K in chunks of one weight block (8 or 16 steps), a stripe of panels
 * per thread as in {@link TernaryPanels}, in a stripe chunk by chunk and within a chunk panel by
 * panel; each panel's steps of 128 bytes are followed by its 64 fp16 scales (in lane order, as the
 * rows' shorts): the file's size.
 */
final class TwoBitPanels extends Q8TablePanels {
    /* 512 bits, not Vec's preferred species, for BinaryPanels' reasons (one vpermw / vpermi2w per lookup). */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int LANES = 32, ROWS = 2 * LANES, TABLE = 32, WEIGHTS_PER_STEP = 8, STEPS_PER_32 = 32 / WEIGHTS_PER_STEP;
    static final int STEP_BYTES = 2 * ROWS;
    /** Shorts of one step's tables: bits 0–4, 5–9 and 10–14 of its shorts, then 2·a7 in every lane. */
    static final int STEP_TABLES = 4 * TABLE;
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
    void tables(short[] q, int qOff, int from, int to, short[] out, int outOff) {
        tables(q, qOff + from, to - from, out, outOff + from / WEIGHTS_PER_STEP * STEP_TABLES);
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
                        int l = BinaryPanels.lane(i);
                        block[p.steps * ROWS + l] = src.get(SHORT, o);
                        for (int s = 0; s < p.steps; s++) block[s * ROWS + l] = src.get(SHORT, o + 2 + 2L * s);
                    }
                    MemorySegment.copy(block, 0, p.data, SHORT, p.offset(c, panel), block.length);
                }
            }
        });
        return p;
    }

    /**
     * Lane e's coefficient of each activation in the three 5-bit tables: bits 0–1 and 2–3 whole codes
     * (c − 1), bit 4 a low bit with its weight's −1 (LOW), and in the middle table bit 0 a high bit (2).
     */
    private static final ShortVector CODE0 = coefficients(0, 3, -1), CODE2 = coefficients(2, 3, -1), LOW4 = coefficients(4, 1, -1),
            HIGH0 = coefficients(0, 1, 0).mul((short) 2), CODE1 = coefficients(1, 3, -1), CODE3 = coefficients(3, 3, -1);

    /** Lane e: ((e >> shift) & mask) + add. */
    private static ShortVector coefficients(int shift, int mask, int add) {
        short[] c = new short[LANES];
        for (int e = 0; e < LANES; e++) c[e] = (short) ((e >> shift & mask) + add);
        return ShortVector.fromArray(S, c, 0);
    }

    /** The tables of one activation vector (q[qOff..qOff + k), natural order) into {@code out[outOff..)}. */
    static void tables(short[] q, int qOff, int k, short[] out, int outOff) {
        for (int s = 0; s < k / WEIGHTS_PER_STEP; s++) {
            int at = qOff + WEIGHTS_PER_STEP * s, o = outOff + s * STEP_TABLES;
            // Bits 0–4: codes of 0 and 1, the low bit of 2 (with 2's −1); 5–9: the high bit of 2,
            // codes of 3 and 4; 10–14: codes of 5 and 6, the low bit of 7 (with 7's −1); 15: 2·a7.
            CODE0.mul(q[at]).add(CODE2.mul(q[at + 1])).add(LOW4.mul(q[at + 2])).intoArray(out, o);
            HIGH0.mul(q[at + 2]).add(CODE1.mul(q[at + 3])).add(CODE3.mul(q[at + 4])).intoArray(out, o + TABLE);
            CODE0.mul(q[at + 5]).add(CODE2.mul(q[at + 6])).add(LOW4.mul(q[at + 7])).intoArray(out, o + 2 * TABLE);
            ShortVector.broadcast(S, (short) (2 * q[at + 7])).intoArray(out, o + 3 * TABLE);
        }
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
            // One slice per stripe: its loads then need no range checks, and it is not garbage per chunk.
            long base = offset(0, s0);
            MemorySegment stripe = data.asSlice(base, (long) chunks * (s1 - s0) * blockBytes);
            for (int c = 0; c < chunks; c++) {
                for (int b = 0; b < batch; b++) {
                    int t0 = (b * chunks + c) * chunkTables, d0 = b * subs + qk / 32 * c;
                    block(stripe, offset(c, s0) - base, s1 - s0, tab, t0, d, d0, fsum, b * span + (s0 - from) * ROWS);
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
     * segment sliced once per call (not per panel: see there), indices shifted as ints, fused multiply-adds),
     * except that a 32-block's four steps are written out in a loop over the chunk's two or four
     * 32-blocks (the block size varies). As a loop of their own the four steps took 53 instructions
     * each (loop upkeep and two range checks), written out 43.
     */
    private void block(MemorySegment seg, long o, int count, short[] tab, int t, float[] d, int d0, float[] fsum, int at) {
        int subs = qk / 32;
        for (int i = 0; i < count; i++) {
            long w = o + (long) i * blockBytes;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            // 32-blocks in pairs, a loop of two in a loop of one (blocks of 64) or two (128): as one
            // loop of four, the 128-blocks streamed from memory at half the 64-blocks' rate (the same
            // in L2), and written out in pairs, the method was too large for C1. The inner loop counts
            // from 0, not from pair: counting from pair, in about one JVM in four C2 compiled blocks of
            // 64 with range-check elimination's pre- and main loops, the 32-block twice and its
            // registers spilled (about 1700 instructions, not 1100), and Q2_0 (64) streamed 20–30%
            // slower for the life of that JVM; counted from 0, none of 18 JVMs did (README, issue 15).
            for (int pair = 0; pair < subs; pair += 2) for (int half = 0; half < 2; half++) {
                int sub = pair + half;
                // A 32-block is four steps: rows 0..31 sum into lo, 32..63 into hi. The lookups read
                // only the low 5 bits of each short, which an int shift by under 16 leaves as a short
                // shift does; a short's sign is bit 15 (weight 7's high bit).
                long at0 = (long) sub * STEPS_PER_32 * STEP_BYTES;
                int t0 = t + sub * STEPS_PER_32 * STEP_TABLES;
                IntVector v, u;
                ShortVector a, b, c, h, lo, hi;
                v = IntVector.fromMemorySegment(I, seg, w + at0, LE);
                u = IntVector.fromMemorySegment(I, seg, w + at0 + 2 * LANES, LE);
                a = ShortVector.fromArray(S, tab, t0);
                b = ShortVector.fromArray(S, tab, t0 + TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 2 * TABLE);
                h = ShortVector.fromArray(S, tab, t0 + 3 * TABLE);
                lo = ((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))
                        .add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                hi = ((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))
                        .add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                v = IntVector.fromMemorySegment(I, seg, w + at0 + 1 * STEP_BYTES, LE);
                u = IntVector.fromMemorySegment(I, seg, w + at0 + 1 * STEP_BYTES + 2 * LANES, LE);
                a = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES);
                b = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + 2 * TABLE);
                h = ShortVector.fromArray(S, tab, t0 + 1 * STEP_TABLES + 3 * TABLE);
                lo = lo.add(((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                hi = hi.add(((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                v = IntVector.fromMemorySegment(I, seg, w + at0 + 2 * STEP_BYTES, LE);
                u = IntVector.fromMemorySegment(I, seg, w + at0 + 2 * STEP_BYTES + 2 * LANES, LE);
                a = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES);
                b = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + 2 * TABLE);
                h = ShortVector.fromArray(S, tab, t0 + 2 * STEP_TABLES + 3 * TABLE);
                lo = lo.add(((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                hi = hi.add(((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                v = IntVector.fromMemorySegment(I, seg, w + at0 + 3 * STEP_BYTES, LE);
                u = IntVector.fromMemorySegment(I, seg, w + at0 + 3 * STEP_BYTES + 2 * LANES, LE);
                a = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES);
                b = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + TABLE);
                c = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + 2 * TABLE);
                h = ShortVector.fromArray(S, tab, t0 + 3 * STEP_TABLES + 3 * TABLE);
                lo = lo.add(((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                hi = hi.add(((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b)).add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)))
                        .add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                // Read as ints, lane j of lo holds row j in its low half and row 16 + j in its high half
                // (BinaryPanels.lane): the high half shifted down is the row's sum, the low half
                // shifted up 65536 times it, exact, and times dy / 65536 the same product as sum · dy.
                // Each product is exact (a sum of at most 13 bits times an fp16 scale's 11), so a
                // fused multiply-add rounds as the reference's multiply, then add.
                float dy = d[d0 + sub];
                FloatVector dyv = FloatVector.broadcast(F, dy), dyLow = FloatVector.broadcast(F, dy * 0x1p-16f);
                IntVector li = (IntVector) lo.reinterpretShape(I, 0), hj = (IntVector) hi.reinterpretShape(I, 0);
                s0 = ((FloatVector) li.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s0);
                s1 = ((FloatVector) li.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s1);
                s2 = ((FloatVector) hj.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s2);
                s3 = ((FloatVector) hj.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s3);
            }
            int f = at + i * ROWS;
            // fsum += fp16 d · sumi, the halves widened exactly as Vec.halfToFloat does, written out (see
            // above): the scales are in lane order, so read as ints each half is one row's d as each
            // half of the sums is one row's sum (BinaryPanels.block, which also says why every vector
            // here is loaded, reinterpreted and converted to a named species). Unlike Q1_0's, the
            // scales keep their signs: shifted down arithmetically, the sign fills bits 28..31, and the
            // mask keeps bit 31 of them, so the float carries it through the exact rescaling by 2^112.
            long sc = codeBytes;
            IntVector x = IntVector.fromMemorySegment(I, seg, w + sc, LE);
            IntVector m = x.lanewise(LSHL, 16);
            FloatVector dx = ((FloatVector) m.lanewise(ASHR, 3).and(0x8fffe000).reinterpretShape(F, 0)).mul(0x1p112f);
            dx = (FloatVector) ((IntVector) dx.reinterpretShape(I, 0)).lanewise(OR, 0x7f800000, m.and(0x7c000000).compare(EQ, 0x7c000000))
                    .reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f).add(dx.mul(s0)).intoArray(fsum, f);
            dx = ((FloatVector) x.lanewise(ASHR, 3).and(0x8fffe000).reinterpretShape(F, 0)).mul(0x1p112f);
            dx = (FloatVector) ((IntVector) dx.reinterpretShape(I, 0)).lanewise(OR, 0x7f800000, x.and(0x7c000000).compare(EQ, 0x7c000000))
                    .reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 16).add(dx.mul(s1)).intoArray(fsum, f + 16);
            x = IntVector.fromMemorySegment(I, seg, w + sc + 2 * LANES, LE);
            m = x.lanewise(LSHL, 16);
            dx = ((FloatVector) m.lanewise(ASHR, 3).and(0x8fffe000).reinterpretShape(F, 0)).mul(0x1p112f);
            dx = (FloatVector) ((IntVector) dx.reinterpretShape(I, 0)).lanewise(OR, 0x7f800000, m.and(0x7c000000).compare(EQ, 0x7c000000))
                    .reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 32).add(dx.mul(s2)).intoArray(fsum, f + 32);
            dx = ((FloatVector) x.lanewise(ASHR, 3).and(0x8fffe000).reinterpretShape(F, 0)).mul(0x1p112f);
            dx = (FloatVector) ((IntVector) dx.reinterpretShape(I, 0)).lanewise(OR, 0x7f800000, x.and(0x7c000000).compare(EQ, 0x7c000000))
                    .reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 48).add(dx.mul(s3)).intoArray(fsum, f + 48);
        }
    }
}
