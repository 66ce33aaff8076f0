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
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
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
 *   <li>A short of a row holds 16 weights; weights 0–4, 5–9 and 10–14 index 32-entry tables (one
 *       vector, {@code vpermw}), each entry e holding Σ(2·bit_t(e) − 1)·a_t over its activations
 *       (the third with weight 15 at −1), and weight 15, the short's sign bit, adds 2·a15 where it
 *       is set (a masked add). The shifts {@code v >>> 5} and {@code v >>> 10} select the indices
 *       without a mask, because the lookups wrap their indices. Weights 10–15 were a 64-entry
 *       two-vector table ({@code vpermi2w}), which costs more than the compare and masked add, as
 *       Q2_0's {@link TwoBitPanels} showed; the earlier 6 + 6 + 4 split had two such lookups.
 *   <li>Each 32-lane short vector holds 32 rows of a panel, interleaved ({@link #lane}); a short
 *       holds 16 consecutive weights of its row, exactly the file's two bytes (flipped where the
 *       block's d is negative), so packing is a transposition.
 *   <li>Q8_0 activations have a scale per 32, so the exact short sums are turned to float every two
 *       steps, as {@code ggml_vec_dot_q1_0_q8_0} does: {@code sumi += d_y·(float) Σ±q} over the four
 *       32-blocks of a weight block, then {@code sumf += d_x·sumi}.
 * </ul>
 * Layout: panels of 64 rows, K in chunks of 128 (one weight block); a stripe of panels per thread
 * as in {@link TernaryPanels}, in a stripe chunk by chunk and within a chunk panel by panel, each
 * panel's 8 steps of 128 bytes followed by its 64 fp16 scales (in lane order): 1152 bytes per chunk and panel, the
 * file's size.
 */
final class BinaryPanels extends Q8TablePanels {
    /*
     * 512 bits, not Vec's preferred species, on purpose, as in TernaryPanels: one selectFrom looks up
     * 32 rows in a 32-entry table (vpermw) and a two-vector one in a 64-entry table (vpermi2w); with
     * 256-bit vectors a table would take two or four registers and several lookups and blends, and
     * AVX2 has no 16-bit permute. Narrower than 512 bits, these species run as Java: the same bits,
     * about 1000 times slower (see MatMul.runsNatively).
     */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int LANES = 32, ROWS = 2 * LANES, CHUNK = 128, STEPS = CHUNK / 16, TABLE = 32;
    static final int STEP_BYTES = 2 * ROWS, CODE_BYTES = STEPS * STEP_BYTES, BLOCK_BYTES = CODE_BYTES + 2 * ROWS;
    /** Shorts of one step's tables: 32 entries for weights 0–4, 32 for 5–9, 32 for 10–14, then 2·a15 in every lane. */
    static final int STEP_TABLES = 4 * TABLE;
    /** Shorts of one vector's tables per chunk. */
    static final int CHUNK_TABLES = STEPS * STEP_TABLES;
    private static final int QK = 128, FILE_BLOCK = 18;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private BinaryPanels(int k, int n, int threads) {
        super(k, n, CHUNK, threads, BLOCK_BYTES);
    }

    @Override int tablesPerVector() { return chunks * CHUNK_TABLES; }

    @Override
    void tables(short[] q, int qOff, int from, int to, short[] out, int outOff) {
        tables(q, qOff + from, to - from, out, outOff + from / 16 * STEP_TABLES);
    }

    /** Packs the n × k Q1_0 matrix {@code w}, panels in parallel over the pool. */
    static BinaryPanels pack(MemorySegment w, int k, int n, WorkerPool pool) {
        BinaryPanels p = new BinaryPanels(k, n, pool.threads());
        int rowBytes = k / QK * FILE_BLOCK;
        pool.parallelFor(p.panels, (from, to) -> {
            byte[] rows = new byte[ROWS * rowBytes];
            short[] block = new short[BLOCK_BYTES / 2];
            for (int panel = from; panel < to; panel++) {
                int r0 = panel * ROWS, count = Math.min(ROWS, n - r0);
                MemorySegment.copy(w, Numbers.BYTE, (long) r0 * rowBytes, rows, 0, count * rowBytes);
                // Rows past n are zero: weights of −d with d = 0.
                if (count < ROWS) Arrays.fill(rows, count * rowBytes, rows.length, (byte) 0);
                for (int c = 0; c < p.chunks; c++) {
                    // A file block, fp16 d then 8 shorts of weights, is two longs and a short:
                    // the short d to the block's scales, the others to their steps.
                    for (int i = 0, o = c * FILE_BLOCK; i < ROWS; i++, o += rowBytes) {
                        long a = (long) LONG.get(rows, o), b = (long) LONG.get(rows, o + 8);
                        // A negative d becomes −d with every weight's bit flipped: the same ±d
                        // products, exactly, and the kernel widens the scales without their signs.
                        long flip = (short) a >> 15;
                        a ^= flip & 0xffffffffffff8000L;
                        b ^= flip;
                        int l = lane(i);
                        block[STEPS * ROWS + l] = (short) a;
                        block[l] = (short) (a >>> 16);
                        block[ROWS + l] = (short) (a >>> 32);
                        block[2 * ROWS + l] = (short) (a >>> 48);
                        block[3 * ROWS + l] = (short) b;
                        block[4 * ROWS + l] = (short) (b >>> 16);
                        block[5 * ROWS + l] = (short) (b >>> 32);
                        block[6 * ROWS + l] = (short) (b >>> 48);
                        block[7 * ROWS + l] = (short) ((short) SHORT16.get(rows, o + 16) ^ flip);
                    }
                    MemorySegment.copy(block, 0, p.data, SHORT, p.offset(c, panel), block.length);
                }
            }
        });
        return p;
    }

    /**
     * The lane of row i (0..63) of a panel in its steps: in each half of 32 rows, row j at lane
     * 2·(j % 16) + j / 16, so that a step's shorts, read as ints, hold rows 0..15 in their low
     * halves and 16..31 in their high ones (see {@link #block}). The scales are in the same order.
     */
    static int lane(int i) {
        int j = i % LANES;
        return i - j + 2 * (j % 16) + j / 16;
    }

    /** Four and one little-endian shorts at any byte offset of a {@code byte[]}. */
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, LE),
            SHORT16 = MethodHandles.byteArrayViewVarHandle(short[].class, LE);

    /** B_t lane e: the sign (2·bit − 1) that entry e gives activation t of its group. */
    private static final ShortVector B0 = signs(0), B1 = signs(1), B2 = signs(2), B3 = signs(3), B4 = signs(4);

    private static ShortVector signs(int t) {
        short[] c = new short[LANES];
        for (int e = 0; e < LANES; e++) c[e] = (short) (2 * ((e >> t) & 1) - 1);
        return ShortVector.fromArray(S, c, 0);
    }

    /** The tables of one activation vector (q[qOff..qOff + k), natural order) into {@code out[outOff..)}. */
    static void tables(short[] q, int qOff, int k, short[] out, int outOff) {
        for (int s = 0; s < k / 16; s++) {
            int at = qOff + 16 * s, o = outOff + s * STEP_TABLES;
            short a15 = q[at + 15];
            // One table per group of five, written once and looped over, not three calls of a
            // helper: inlined into the caller that also quantizes (Q8TableKernel), the third call
            // passed C2's node budget, and its vector, boxed, ran as Java (5% of a Q1_0 decode).
            for (int g = 0; g < 3; g++) {
                int a = at + 5 * g;
                ShortVector table = B0.mul(ShortVector.broadcast(S, q[a])).add(B1.mul(ShortVector.broadcast(S, q[a + 1])))
                        .add(B2.mul(ShortVector.broadcast(S, q[a + 2])).add(B3.mul(ShortVector.broadcast(S, q[a + 3]))))
                        .add(B4.mul(ShortVector.broadcast(S, q[a + 4])));
                if (g == 2) table = table.sub(ShortVector.broadcast(S, a15)); // the third table's weight 15 at −1
                table.intoArray(out, o + g * TABLE);
            }
            ShortVector.broadcast(S, (short) (2 * a15)).intoArray(out, o + 3 * TABLE);
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
            MemorySegment stripe = data.asSlice(base, (long) chunks * (s1 - s0) * BLOCK_BYTES);
            for (int c = 0; c < chunks; c++) {
                for (int b = 0; b < batch; b++) {
                    int t0 = (b * chunks + c) * CHUNK_TABLES, d0 = b * subs + 4 * c;
                    block(stripe, offset(c, s0) - base, s1 - s0, tab, t0, d, d0, fsum, b * span + (s0 - from) * ROWS);
                }
            }
        }
    }

    /** Where chunk c of panel p starts: stripe by stripe, in a stripe chunk by chunk, then panel by panel. */
    long offset(int c, int p) {
        int s0 = p - p % stripeWidth;
        return ((long) s0 * chunks + (long) c * Math.min(stripeWidth, panels - s0) + p - s0) * BLOCK_BYTES;
    }

    /**
     * One chunk of {@code count} consecutive panels (from byte o) into fsum[at..at + 64·count). A
     * method of its own, with every vector operation written out in it: as part of the loop nest in
     * {@link #dot}, or with helpers taking vectors, C2 left some Vector API calls out of line, and
     * those ran as Java code allocating their vectors (5 GB/s of garbage, 7× slower).
     *
     * <p>Shaped for C2 (instructions per 1152-byte panel chunk, from 500–700 to about 440): one call
     * per chunk and stripe, not per panel; the segment in a local (read from the field, it was
     * reloaded and type-checked at every load), a slice of the stripe, so that loads at offsets C2
     * can bound need no range checks (one per load on the whole segment was 16% of the
     * instructions). A slice per panel's chunk did that too, but C2 did not remove its allocation:
     * 8 MB of slices per token on Bonsai-1.7B, whose garbage collection and, after the load, first
     * touches of fresh heap pages (7.5 µs a page on these VMs) made decode on two threads 25–45%
     * slower and the first steps 5× a later one. The indices shifted as ints, which C2 does with an immediate, where a
     * short shift took a register loaded at each use (the lookups read only the low 5 or 6 bits of
     * each short, which an int shift by under 16 leaves as a short shift does); and fused
     * multiply-adds for the per-32 scales. A panel's 8 steps written out in full took 16% fewer
     * instructions than this loop over its 32-blocks, but C1 could not compile so large a method
     * ("out of virtual registers"), and without its profile C2 never did: it ran as Java.
     */
    private static void block(MemorySegment seg, long o, int count, short[] tab, int t, float[] d, int d0, float[] fsum, int at) {
        for (int i = 0; i < count; i++) {
            long w = o + (long) i * BLOCK_BYTES;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            // Two 32-blocks per iteration: as a loop of four, Q1_0 streamed from memory at about two
            // thirds of the rate of Q2_0's loop of two, at the same rate in L2.
            for (int sub = 0; sub < 4; sub += 2) {
                {
                    // A 32-block is two steps: rows 0..31 sum into lo, 32..63 into hi.
                    long at0 = (long) (sub) * 2 * STEP_BYTES, at1 = at0 + STEP_BYTES;
                    int t0 = t + (sub) * 2 * STEP_TABLES, t1 = t0 + STEP_TABLES;
                    IntVector v = IntVector.fromMemorySegment(I, seg, w + at0, LE);
                    IntVector u = IntVector.fromMemorySegment(I, seg, w + at0 + 2 * LANES, LE);
                    ShortVector a = ShortVector.fromArray(S, tab, t0), b = ShortVector.fromArray(S, tab, t0 + TABLE);
                    ShortVector c = ShortVector.fromArray(S, tab, t0 + 2 * TABLE), h = ShortVector.fromArray(S, tab, t0 + 3 * TABLE);
                    ShortVector lo = ((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)).add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                    ShortVector hi = ((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)).add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                    v = IntVector.fromMemorySegment(I, seg, w + at1, LE);
                    u = IntVector.fromMemorySegment(I, seg, w + at1 + 2 * LANES, LE);
                    a = ShortVector.fromArray(S, tab, t1);
                    b = ShortVector.fromArray(S, tab, t1 + TABLE);
                    c = ShortVector.fromArray(S, tab, t1 + 2 * TABLE);
                    h = ShortVector.fromArray(S, tab, t1 + 3 * TABLE);
                    lo = lo.add(((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))).add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                    hi = hi.add(((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))).add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                    // Read as ints, lane i of lo holds row i in its low half and row 16 + i in its high
                    // half (see lane): the high half, shifted down, is the row's sum; the low half shifted
                    // up is 65536 times it, exact as an int and as a float, so times dy / 65536 (a power
                    // of two apart, exact) it gives the same product as sum · dy. Each product is exact
                    // (a sum of at most 12 bits times an fp16 scale's 11), so a fused multiply-add
                    // rounds as the reference's multiply, then add.
                    float dy = d[d0 + sub];
                    FloatVector dyv = FloatVector.broadcast(F, dy), dyLow = FloatVector.broadcast(F, dy * 0x1p-16f);
                    IntVector li = (IntVector) lo.reinterpretShape(I, 0), hj = (IntVector) hi.reinterpretShape(I, 0);
                    s0 = ((FloatVector) li.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s0);
                    s1 = ((FloatVector) li.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s1);
                    s2 = ((FloatVector) hj.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s2);
                    s3 = ((FloatVector) hj.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s3);
                }
                {
                    // A 32-block is two steps: rows 0..31 sum into lo, 32..63 into hi.
                    long at0 = (long) (sub + 1) * 2 * STEP_BYTES, at1 = at0 + STEP_BYTES;
                    int t0 = t + (sub + 1) * 2 * STEP_TABLES, t1 = t0 + STEP_TABLES;
                    IntVector v = IntVector.fromMemorySegment(I, seg, w + at0, LE);
                    IntVector u = IntVector.fromMemorySegment(I, seg, w + at0 + 2 * LANES, LE);
                    ShortVector a = ShortVector.fromArray(S, tab, t0), b = ShortVector.fromArray(S, tab, t0 + TABLE);
                    ShortVector c = ShortVector.fromArray(S, tab, t0 + 2 * TABLE), h = ShortVector.fromArray(S, tab, t0 + 3 * TABLE);
                    ShortVector lo = ((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)).add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                    ShortVector hi = ((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c)).add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                    v = IntVector.fromMemorySegment(I, seg, w + at1, LE);
                    u = IntVector.fromMemorySegment(I, seg, w + at1 + 2 * LANES, LE);
                    a = ShortVector.fromArray(S, tab, t1);
                    b = ShortVector.fromArray(S, tab, t1 + TABLE);
                    c = ShortVector.fromArray(S, tab, t1 + 2 * TABLE);
                    h = ShortVector.fromArray(S, tab, t1 + 3 * TABLE);
                    lo = lo.add(((ShortVector) v.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) v.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) v.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))).add(h, ((ShortVector) v.reinterpretShape(S, 0)).compare(LT, 0));
                    hi = hi.add(((ShortVector) u.reinterpretShape(S, 0)).selectFrom(a).add(((ShortVector) u.lanewise(LSHR, 5).reinterpretShape(S, 0)).selectFrom(b))
                            .add(((ShortVector) u.lanewise(LSHR, 10).reinterpretShape(S, 0)).selectFrom(c))).add(h, ((ShortVector) u.reinterpretShape(S, 0)).compare(LT, 0));
                    // Read as ints, lane i of lo holds row i in its low half and row 16 + i in its high
                    // half (see lane): the high half, shifted down, is the row's sum; the low half shifted
                    // up is 65536 times it, exact as an int and as a float, so times dy / 65536 (a power
                    // of two apart, exact) it gives the same product as sum · dy. Each product is exact
                    // (a sum of at most 12 bits times an fp16 scale's 11), so a fused multiply-add
                    // rounds as the reference's multiply, then add.
                    float dy = d[d0 + sub + 1];
                    FloatVector dyv = FloatVector.broadcast(F, dy), dyLow = FloatVector.broadcast(F, dy * 0x1p-16f);
                    IntVector li = (IntVector) lo.reinterpretShape(I, 0), hj = (IntVector) hi.reinterpretShape(I, 0);
                    s0 = ((FloatVector) li.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s0);
                    s1 = ((FloatVector) li.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s1);
                    s2 = ((FloatVector) hj.lanewise(LSHL, 16).convertShape(I2F, F, 0)).fma(dyLow, s2);
                    s3 = ((FloatVector) hj.lanewise(ASHR, 16).convertShape(I2F, F, 0)).fma(dyv, s3);
                }
            }
            int f = at + i * ROWS;
            // fsum += fp16 d · sumi, the halves widened to floats as Vec.halfToFloat does, written out
            // here (a helper taking vectors was not inlined, see above). The scales are in lane order
            // (see pack), so read as ints, lane j holds row j's d in its low half and row 16 + j's in
            // its high half, as the sums do; packing made them positive, so the sign bit needs no
            // work: a half moved to bits 13..27 is, as float bits, its value times 2^-112, exact
            // (normal or subnormal); exponent 31 (infinity, NaN) is set to 255.
            //
            // Every vector here and above is loaded, reinterpreted and converted to a named species
            // (IntVector.fromMemorySegment(I, ..), reinterpretShape(S, 0), convertShape(I2F, F, 0)),
            // not with reinterpretAsInts() or convert(I2F, 0), which find their species from the
            // receiver's, and the scales are read as ints, not widened from shorts (S2I). In some JVMs
            // (about one test JVM in three, after other kernels had run) C2's compile of this method
            // lost the vectors' types and ran parts of it as the Vector API's Java code for the life
            // of the JVM, 20 KB to 1.2 MB of garbage per 2048×1024 matvec; written this way, with the
            // launcher's JIT thresholds, that became rare, not impossible (README, "Calls past C2's
            // node budget").
            IntVector x = IntVector.fromMemorySegment(I, seg, w + CODE_BYTES, LE);
            IntVector m = x.lanewise(LSHL, 16).lanewise(LSHR, 3);
            FloatVector dx = (FloatVector) m.lanewise(OR, 0x7f800000, m.and(0x0f800000).compare(EQ, 0x0f800000)).reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f).add(dx.mul(0x1p112f).mul(s0)).intoArray(fsum, f);
            m = x.lanewise(LSHR, 3).and(0xffffe000);
            dx = (FloatVector) m.lanewise(OR, 0x7f800000, m.and(0x0f800000).compare(EQ, 0x0f800000)).reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 16).add(dx.mul(0x1p112f).mul(s1)).intoArray(fsum, f + 16);
            x = IntVector.fromMemorySegment(I, seg, w + CODE_BYTES + 2 * LANES, LE);
            m = x.lanewise(LSHL, 16).lanewise(LSHR, 3);
            dx = (FloatVector) m.lanewise(OR, 0x7f800000, m.and(0x0f800000).compare(EQ, 0x0f800000)).reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 32).add(dx.mul(0x1p112f).mul(s2)).intoArray(fsum, f + 32);
            m = x.lanewise(LSHR, 3).and(0xffffe000);
            dx = (FloatVector) m.lanewise(OR, 0x7f800000, m.and(0x0f800000).compare(EQ, 0x0f800000)).reinterpretShape(F, 0);
            FloatVector.fromArray(F, fsum, f + 48).add(dx.mul(0x1p112f).mul(s3)).intoArray(fsum, f + 48);
        }
    }
}
