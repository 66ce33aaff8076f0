package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.LE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2I;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.function.Supplier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Ternary weights (I2_S, TQ2_0, TQ1_0) repacked once for a table-lookup kernel, the idea of
 * bitnet.cpp's TL kernels and T-MAC. The Vector API has no u8×s8 multiply-add, and a
 * shift-mask-multiply kernel spends about four vector operations per 32 weights, far more than
 * memory speed allows. Instead:
 *
 * <ul>
 *   <li>Three weights with codes c0, c1, c2 ∈ {0, 1, 2} (for −1, 0, +1) form an index
 *       e = c0 + 3c1 + 9c2 &lt; 27. For each triple of activations a0, a1, a2 a 32-entry table holds
 *       Σ(ct − 1)·at for every e, built once per activation vector ({@link #tables}).
 *   <li>Lane i of a 32-lane short vector belongs to row i of a panel of rows, so one
 *       {@code selectFrom} (vpermw) looks up 32 rows' triples in the same table, and the lanes
 *       accumulate 32 rows' sums: no horizontal reduction at all.
 *   <li>A short holds three 5-bit indices (triples 3s, 3s+1, 3s+2): 9 weights in 16 bits, 1.78 bits
 *       per weight, fewer bytes than I2_S's 2 or TQ2_0's 2.06. vpermw reads only the low 5 bits of
 *       each index, so index 0 needs no mask, index 1 is a shift by 5 and index 2 by 10.
 * </ul>
 *
 * <p>Layout: panels of {@link #ROWS} rows (two vectors per step, which share the table loads), and
 * K in chunks of {@link #CHUNK} activations (one Q8_K block), each padded to 87 triples = 29 steps;
 * padded weights are zero (code 1) and padded activations 0. The panels are split into stripes of
 * ⌈panels / threads⌉ for the pool that packs them, at most one per thread (the threads' units of
 * work), and each stripe is ordered
 * chunk by chunk, within a chunk panel by panel: a thread streams one contiguous region, all its
 * panels for one chunk while that chunk's tables (87·64 bytes) stay in L1. With the tables for the
 * whole K (55 KB at K = 2560) read from L2 on every panel instead, the same kernel ran at half the
 * speed: the table misses took the L1 miss buffers the weight stream needs. With chunk-major data
 * shared by all threads, each thread read short runs between jumps, and two threads were no faster
 * than one on the smaller matrices. Where each chunk has its own per-row scales (TQ), the
 * chunk's 64 scales are widened to floats at packing into a second region in the same block order
 * (no conversion in the kernel). A converted BitNet model has one scale per tensor in every block
 * (llama.cpp's quantizer takes the block's max |w|, which is the tensor's one magnitude), and then
 * that region is dropped and the kernel multiplies by the one scale: 6.5% fewer bytes per token,
 * no scale loads, and the same bits ({@link #uniformScale}).
 *
 * <p>Sums are exact: a table entry is at most 3·127 in magnitude, and a chunk's sum at most
 * 256·127 (|q| ≤ 127 for both I8 and Q8_K activations), within a short lane.
 */
final class TernaryPanels {
    /*
     * 512 bits, not Vec's preferred species, on purpose: the kernel is one selectFrom per index, and
     * a lookup only pays if one vector holds a whole 27-entry table (32 shorts) and 32 rows' indices,
     * which one vpermw then resolves. A 256-bit vector holds 16 shorts: half a table, so two lookups
     * and a blend per index for half the rows, and AVX2 has no 16-bit permute at all (vpshufb looks
     * up bytes within 128-bit lanes). Where the JVM's vectors are narrower than 512 bits (AVX2, NEON,
     * -XX:MaxVectorSize below 64) C2 does not compile these species and the Vector API runs them as
     * Java: the same bits (PackedBitsTest, run at 256 bits by the module's build), but about 1000
     * times slower (700–2000× measured); MatMul.runsNatively tells a backend.
     */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final int LANES = 32, ROWS = 2 * LANES, CHUNK = 256, STEPS = 29, TRIPLES = 3 * STEPS, TABLE = 32;
    static final int STEP_BYTES = 2 * ROWS, CODE_BYTES = STEPS * STEP_BYTES;
    /** Shorts of one vector's tables per chunk. */
    static final int CHUNK_TABLES = TRIPLES * TABLE;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    /** Where a packer reads codes and scales in the file's layout; each packing thread has its own. */
    interface Source {
        /** Codes 0..2 of row r's k elements into {@code codes[off..off + k)}; any other code is an error. */
        void codes(int r, byte[] codes, int off);

        /** The scale of row r for chunk c (only called for scaled formats). */
        float scale(int r, int c);
    }

    final int k, n, chunks, panels, stripes, stripeWidth;
    final boolean scaled;
    /** The one scale of an unscaled (I2_S) tensor. */
    final float tensorScale;
    /** The codes: a block of {@link #CODE_BYTES} per chunk of a panel, at {@link #block}·CODE_BYTES. */
    final MemorySegment data;
    /**
     * A scaled format's row scales as floats, 64 per block at {@link #block}·256 bytes; null for an
     * unscaled format, and dropped once packing finds {@link #uniformScale}.
     */
    MemorySegment scales;
    /**
     * The scale every block of every row has, where they all have the same one (a converted BitNet
     * model), else NaN. The kernel then computes each block's {@code (float) sum · (d_a · d)} with
     * this d: the product the per-row scales would give, bit for bit.
     */
    float uniformScale = Float.NaN;

    private TernaryPanels(int k, int n, boolean scaled, float tensorScale, int threads) {
        this.k = k;
        this.n = n;
        this.scaled = scaled;
        this.tensorScale = tensorScale;
        chunks = (k + CHUNK - 1) / CHUNK;
        panels = (n + ROWS - 1) / ROWS;
        stripeWidth = (panels + threads - 1) / threads;
        stripes = (panels + stripeWidth - 1) / stripeWidth;
        data = Arena.ofAuto().allocate((long) chunks * panels * CODE_BYTES, 64);
        scales = scaled ? Arena.ofAuto().allocate((long) chunks * panels * 4 * ROWS, 64) : null;
    }

    long bytes() { return data.byteSize() + (scales != null ? scales.byteSize() : 0); }

    /**
     * Packs an n × k ternary matrix, panels in parallel over the pool: with per-chunk row scales
     * ({@code scaled}, read from the sources) or one {@code tensorScale}.
     *
     * <p>Each row's steps are computed along the row, in the file's order, and stored to its lane
     * ({@link #steps}): no transposition of the codes, which, byte by byte, took longer than all the
     * rest of loading a model. Scalar code on purpose: packing runs once, at startup, while the JIT
     * is still compiling, and Vector API code runs many times slower until C2 has compiled it (a
     * version gathering 16 rows' words was faster once warm, but slower to load a model).
     */
    static TernaryPanels pack(int k, int n, boolean scaled, float tensorScale, Supplier<Source> sources, WorkerPool pool) {
        TernaryPanels p = new TernaryPanels(k, n, scaled, tensorScale, pool.threads());
        pool.parallelFor(p.panels, (from, to) -> {
            Source src = sources.get();
            // The panel's rows as the sources give them; rows past n are zero weights (code 1).
            byte[] rows = new byte[ROWS * k];
            // One row's partial last chunk, padded to 256 codes with zero weights.
            byte[] chunk = new byte[CHUNK];
            short[] block = new short[STEPS * ROWS];
            float[] scales = new float[ROWS];
            for (int panel = from; panel < to; panel++) {
                int count = Math.min(ROWS, n - panel * ROWS);
                for (int i = 0; i < count; i++) src.codes(panel * ROWS + i, rows, i * k);
                if (count < ROWS) Arrays.fill(rows, count * k, rows.length, (byte) 1);
                for (int c = 0; c < p.chunks; c++) {
                    int len = Math.min(CHUNK, k - c * CHUNK);
                    for (int i = 0; i < ROWS; i++) {
                        if (len == CHUNK) {
                            steps(rows, i * k + c * CHUNK, block, i);
                        } else {
                            System.arraycopy(rows, i * k + c * CHUNK, chunk, 0, len);
                            Arrays.fill(chunk, len, CHUNK, (byte) 1);
                            steps(chunk, 0, block, i);
                        }
                    }
                    long at = p.block(c, panel);
                    MemorySegment.copy(block, 0, p.data, SHORT, at * CODE_BYTES, block.length);
                    if (scaled) {
                        for (int i = 0; i < ROWS; i++) scales[i] = i < count ? src.scale(panel * ROWS + i, c) : 0;
                        MemorySegment.copy(scales, 0, p.scales, FLOAT, at * 4 * ROWS, ROWS);
                    }
                }
            }
        });
        if (scaled) p.findUniformScale();
        return p;
    }

    /**
     * Sets {@link #uniformScale} and drops {@link #scales} where every real row (not the padding of
     * the last panel) has the same scale bits in every chunk.
     */
    private void findUniformScale() {
        int first = Float.floatToRawIntBits(scales.get(FLOAT, block(0, 0) * 4 * ROWS));
        for (int p = 0; p < panels; p++) {
            int count = Math.min(ROWS, n - p * ROWS);
            for (int c = 0; c < chunks; c++) {
                long at = block(c, p) * 4 * ROWS;
                for (int i = 0; i < count; i++) {
                    if (Float.floatToRawIntBits(scales.get(FLOAT, at + 4L * i)) != first) return;
                }
            }
        }
        uniformScale = Float.intBitsToFloat(first);
        scales = null;
    }

    /** Eight codes at any byte offset of a {@code byte[]}, code j in byte j. */
    private static final VarHandle CODES8 = MethodHandles.byteArrayViewVarHandle(long[].class, LE);
    /**
     * A long of codes c_j (byte j) times this has 9c_j + 3c_(j−1) + c_(j−2) ≤ 26 in byte j, with no
     * carries between bytes: byte 2 is the index of the triple in bytes 0..2, byte 5 that in 3..5.
     */
    private static final long TRIPLES2 = 0x10309;

    /**
     * Row {@code row}'s 29 steps of a chunk, from its 256 codes at {@code codes[from..)}, into lane
     * {@code row} of {@code block}: the longs at codes 18q, 18q + 6 and 18q + 12 times
     * {@link #TRIPLES2} give the six triples of steps 2q and 2q + 1, each moved to the bits of its
     * step (index 3s + t at bit 5t of step s). The last step's triples run past the chunk's 256 codes
     * into its padding.
     */
    private static void steps(byte[] codes, int from, short[] block, int row) {
        int o = row, at = from;
        for (int s = 0; s < STEPS - 1; s += 2, o += 2 * ROWS, at += 18) {
            long a = (long) CODES8.get(codes, at) * TRIPLES2, b = (long) CODES8.get(codes, at + 6) * TRIPLES2;
            long c = (long) CODES8.get(codes, at + 12) * TRIPLES2;
            block[o] = (short) (a >>> 16 & 0x1f | a >>> 35 & 0x3e0 | b >>> 6 & 0x7c00);
            block[o + ROWS] = (short) (b >>> 40 & 0x1f | c >>> 11 & 0x3e0 | c >>> 30 & 0x7c00);
        }
        // Step 28: codes 252..254; 255 and two padding codes (1): c + 3 + 9; three padding codes: 13.
        long a = ((codes[at] & 0xffL) | (codes[at + 1] & 0xffL) << 8 | (codes[at + 2] & 0xffL) << 16) * TRIPLES2;
        block[o] = (short) (a >>> 16 & 0x1f | (codes[at + 3] + 12) << 5 | 13 << 10);
    }

    /** Index lane e of C_t: the weight (−1, 0, +1) that entry e gives activation t of its triple. */
    private static final ShortVector C0 = weights(1), C1 = weights(3), C2 = weights(9);

    private static ShortVector weights(int radix) {
        short[] c = new short[LANES];
        for (int e = 0; e < 27; e++) c[e] = (short) (e / radix % 3 - 1);
        return ShortVector.fromArray(S, c, 0);
    }

    /**
     * The tables of one activation vector: for each chunk of {@code k} (natural order, values
     * q[qOff..qOff + k)) 87 tables of 32 shorts into {@code out[outOff..)}.
     */
    static void tables(short[] q, int qOff, int k, short[] out, int outOff) {
        for (int c = 0; c * CHUNK < k; c++) {
            int start = qOff + c * CHUNK, len = Math.min(CHUNK, k - c * CHUNK), o = outOff + c * CHUNK_TABLES;
            int j = 0;
            for (; 3 * j + 2 < len; j++, o += TABLE) {
                int at = start + 3 * j;
                C0.mul(ShortVector.broadcast(S, q[at])).add(C1.mul(ShortVector.broadcast(S, q[at + 1]))).add(C2.mul(ShortVector.broadcast(S, q[at + 2]))).intoArray(out, o);
            }
            // The chunk's last, partial triples (its padding: activations 0).
            for (; j < TRIPLES; j++, o += TABLE) {
                int at = 3 * j;
                short a0 = at < len ? q[start + at] : 0, a1 = at + 1 < len ? q[start + at + 1] : 0;
                C0.mul(a0).add(C1.mul(a1)).intoArray(out, o);
            }
        }
    }

    /**
     * Panels [from, to) against every vector's tables: the exact sums Σ(c − 1)·q of each chunk go to
     * {@code isum} (unscaled: added up over the chunks) or, scaled, as {@code llama.cpp} does per
     * block, {@code fsum += (float) sum · (d[b, chunk] · fp16 scale)} in chunk order. Vector b's
     * row r is at {@code b·(to − from)·64 + r − from·64} in the sums, which the caller has zeroed.
     */
    void dot(int from, int to, short[] tab, int batch, float[] d, int[] isum, float[] fsum) {
        int span = (to - from) * ROWS;
        for (int s0 = from; s0 < to; s0 += stripeWidth) {
            int s1 = Math.min(s0 + stripeWidth, to);
            for (int c = 0; c < chunks; c++) {
                for (int b = 0; b < batch; b++) {
                    int t = (b * chunks + c) * CHUNK_TABLES;
                    long i = block(c, s0);
                    for (int p = s0; p < s1; p++, i++) {
                        int at = b * span + (p - from) * ROWS;
                        if (scaled) scaledBlock(i * CODE_BYTES, i * 4 * ROWS, tab, t, d[b * chunks + c], fsum, at);
                        else block(i * CODE_BYTES, tab, t, isum, at);
                    }
                }
            }
        }
    }

    /** The block index of chunk c of panel p: stripe by stripe, in a stripe chunk by chunk, then panel by panel. */
    long block(int c, int p) {
        int s0 = p - p % stripeWidth;
        return (long) s0 * chunks + (long) c * Math.min(stripeWidth, panels - s0) + p - s0;
    }

    // The two methods below are the same loop with different ends. Each is a method of its own with
    // every vector operation written out in it: as part of the loop nest in dot, or with helpers
    // taking vectors, C2 left some Vector API calls out of line, and those ran as Java code
    // allocating their vectors (gigabytes per second of garbage, several times slower).

    /** One chunk of one panel: isum[at..at + 64) += the rows' exact sums. */
    private void block(long o, short[] tab, int t, int[] isum, int at) {
        ShortVector lo = ShortVector.zero(S), hi = lo;
        // The long byte offset as the loop variable lets C2 hoist the bounds checks.
        for (long w = o, end = o + CODE_BYTES; w < end; w += STEP_BYTES, t += 3 * TABLE) {
            ShortVector v = ShortVector.fromMemorySegment(S, data, w, LE);
            ShortVector u = ShortVector.fromMemorySegment(S, data, w + 2 * LANES, LE);
            ShortVector x0 = ShortVector.fromArray(S, tab, t);
            ShortVector x1 = ShortVector.fromArray(S, tab, t + TABLE);
            ShortVector x2 = ShortVector.fromArray(S, tab, t + 2 * TABLE);
            lo = v.selectFrom(x0).add(v.lanewise(LSHR, 5).selectFrom(x1)).add(v.lanewise(LSHR, 10).selectFrom(x2)).add(lo);
            hi = u.selectFrom(x0).add(u.lanewise(LSHR, 5).selectFrom(x1)).add(u.lanewise(LSHR, 10).selectFrom(x2)).add(hi);
        }
        IntVector.fromArray(I, isum, at).add(lo.convertShape(S2I, I, 0)).intoArray(isum, at);
        IntVector.fromArray(I, isum, at + 16).add(lo.convertShape(S2I, I, 1)).intoArray(isum, at + 16);
        IntVector.fromArray(I, isum, at + 32).add(hi.convertShape(S2I, I, 0)).intoArray(isum, at + 32);
        IntVector.fromArray(I, isum, at + 48).add(hi.convertShape(S2I, I, 1)).intoArray(isum, at + 48);
    }

    /**
     * One chunk of one panel with its row scales (from {@code sc} in {@link #scales}, or the
     * {@link #uniformScale} of every row), as llama.cpp adds a block:
     * {@code fsum += (float) sumi · (da · d)} over the 64 rows, each product rounded.
     */
    private void scaledBlock(long o, long sc, short[] tab, int t, float da, float[] fsum, int at) {
        ShortVector lo = ShortVector.zero(S), hi = lo;
        for (long w = o, end = o + CODE_BYTES; w < end; w += STEP_BYTES, t += 3 * TABLE) {
            ShortVector v = ShortVector.fromMemorySegment(S, data, w, LE);
            ShortVector u = ShortVector.fromMemorySegment(S, data, w + 2 * LANES, LE);
            ShortVector x0 = ShortVector.fromArray(S, tab, t);
            ShortVector x1 = ShortVector.fromArray(S, tab, t + TABLE);
            ShortVector x2 = ShortVector.fromArray(S, tab, t + 2 * TABLE);
            lo = v.selectFrom(x0).add(v.lanewise(LSHR, 5).selectFrom(x1)).add(v.lanewise(LSHR, 10).selectFrom(x2)).add(lo);
            hi = u.selectFrom(x0).add(u.lanewise(LSHR, 5).selectFrom(x1)).add(u.lanewise(LSHR, 10).selectFrom(x2)).add(hi);
        }
        MemorySegment rowScales = scales;
        FloatVector d0, d1, d2, d3;
        if (rowScales == null) {
            d0 = d1 = d2 = d3 = FloatVector.broadcast(F, da * uniformScale);
        } else {
            d0 = FloatVector.fromMemorySegment(F, rowScales, sc, LE).mul(da);
            d1 = FloatVector.fromMemorySegment(F, rowScales, sc + 64, LE).mul(da);
            d2 = FloatVector.fromMemorySegment(F, rowScales, sc + 128, LE).mul(da);
            d3 = FloatVector.fromMemorySegment(F, rowScales, sc + 192, LE).mul(da);
        }
        FloatVector.fromArray(F, fsum, at).add(((FloatVector) lo.convertShape(S2I, I, 0).convert(I2F, 0)).mul(d0)).intoArray(fsum, at);
        FloatVector.fromArray(F, fsum, at + 16).add(((FloatVector) lo.convertShape(S2I, I, 1).convert(I2F, 0)).mul(d1)).intoArray(fsum, at + 16);
        FloatVector.fromArray(F, fsum, at + 32).add(((FloatVector) hi.convertShape(S2I, I, 0).convert(I2F, 0)).mul(d2)).intoArray(fsum, at + 32);
        FloatVector.fromArray(F, fsum, at + 48).add(((FloatVector) hi.convertShape(S2I, I, 1).convert(I2F, 0)).mul(d3)).intoArray(fsum, at + 48);
    }
}
