package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.S;

import io.ternion.graph.KvRotation;
import io.ternion.graph.KvType;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Causal multi-head attention over a {@link KvCache}, with grouped-query heads: query head h reads
 * KV head h / (nHeads / nKvHeads). Per head: scores = scale·q·k over the visible positions, a
 * max-subtracted softmax, then the score-weighted sum of the values.
 *
 * <p>A batch of several rows (a prompt) whose rows are work enough for the threads takes rows of one
 * sequence up to 32 at a time per KV head, each block of the cache decoded once for all of them
 * ({@link #shared}). One row over an F16 or float cache, when its heads are work enough for the
 * threads, makes every pair of query heads one task over all its positions ({@link #heads}).
 * Otherwise (a quantized cache, or a decode step at depth, where a few KV heads would leave threads
 * idle) the positions of each KV head are cut into {@link #parts} (flash-decoding): a task scores
 * all the query heads of one KV head over one part, each key and value decoded once from the
 * cache's own bytes into one head-sized row for all of them ({@link #part}); the parts' softmaxes
 * are then merged through their maxima and sums. How a head is cut depends on the shapes only, never on the thread count,
 * so any number of threads gives the same bits. A rotated key type scores the rotated query; a
 * rotated value type turns the output back ({@link KvRotation}).
 */
public final class Attention {
    private Attention() {}

    /** Below this many multiply-adds (2 per position and dim), the caller does it alone. */
    private static final long PARALLEL_MIN_WORK = 1 << 16;

    private static void run(WorkerPool pool, int n, long work, WorkerPool.RangeTask task) {
        if (work < PARALLEL_MIN_WORK) task.run(0, n);
        else pool.parallelFor(n, task);
    }

    /** One query (nHeads·headDim floats) over positions 0..positions−1 of slot 0 of {@code layer}; parallel over heads. */
    public static void attend(KvCache cache, int layer, float[] q, int qOff, int nHeads, int nKvHeads, int headDim,
            int positions, float[] out, int outOff, float scale, WorkerPool pool) {
        attendRows(cache, layer, q, qOff, 1, new int[] {positions - 1}, new int[1], nHeads, nKvHeads, headDim, out, outOff, scale, pool);
    }

    /**
     * A batch of queries, row b in slot {@code slots[b]} at position {@code positions[b]}, seeing
     * that slot's positions 0..positions[b], whose keys and values (the batch's own included) are
     * already stored; parallel over rows × heads. Query and output of row b start at
     * {@code b·nHeads·headDim}.
     */
    public static void attendRows(KvCache cache, int layer, float[] q, int qOff, int rows, int[] positions, int[] slots,
            int nHeads, int nKvHeads, int headDim, float[] out, int outOff, float scale, WorkerPool pool) {
        long seen = 0;
        for (int b = 0; b < rows; b++) {
            check(cache, nHeads, nKvHeads, headDim, positions[b] + 1, slots[b]);
            seen += positions[b] + 1;
        }
        int maxPositions = 0;
        for (int b = 0; b < rows; b++) maxPositions = Math.max(maxPositions, positions[b] + 1);
        int parts = parts(maxPositions, rows * nKvHeads);
        if (parts == 1 && rows > 1) {
            shared(cache, layer, q, qOff, rows, positions, slots, nHeads, nKvHeads, headDim, out, outOff, scale, pool, seen, maxPositions);
            return;
        }
        boolean plain = cache.f16() || (cache.keyType() == null && cache.valueType() == null);
        if (parts > 1 || !plain) {
            split(cache, layer, q, qOff, rows, positions, slots, nHeads, nKvHeads, headDim, out, outOff, scale, pool, parts, seen);
            return;
        }
        int qDim = nHeads * headDim;
        int g = pairs(nHeads, nKvHeads), units = nHeads / g;
        run(pool, rows * units, 2L * nHeads * headDim * seen, (from, to) -> {
            for (int i = from; i < to; i++) {
                int b = i / units, h = i % units * g;
                heads(cache, layer, slots[b], q, qOff + b * qDim + h * headDim, g, h / (nHeads / nKvHeads), headDim, positions[b] + 1,
                        out, outOff + b * qDim + h * headDim, scale);
            }
        });
    }

    private static void check(KvCache cache, int nHeads, int nKvHeads, int headDim, int positions, int slot) {
        if (slot < 0 || slot >= cache.slots()) throw new IllegalArgumentException("slot " + slot + " of " + cache.slots());
        if (nKvHeads < 1 || nHeads % nKvHeads != 0) throw new IllegalArgumentException(nHeads + " heads cannot share " + nKvHeads + " KV heads");
        if (nKvHeads != cache.kvHeads() || headDim != cache.headDim()) {
            throw new IllegalArgumentException(nKvHeads + " KV heads of " + headDim + " do not match the cache's " + cache.kvHeads() + " of " + cache.headDim());
        }
        if (positions < 1 || positions > cache.contextLength()) {
            throw new IllegalArgumentException(positions + " positions outside the context of " + cache.contextLength());
        }
    }

    /**
     * How many query heads one task takes: two where each KV head serves an even number of them, so
     * each key and value read from the F16 cache is widened once for both (the widening, not the
     * multiply-add, is most of attention's work, and attention was a fifth of decode at a few hundred
     * positions). Two rather than the whole group: with 2 threads, 4-head groups of a 5-KV-head model
     * would split 3 to 2. Each head's arithmetic is unchanged, so the bits are too.
     */
    private static int pairs(int nHeads, int nKvHeads) {
        return (nHeads / nKvHeads) % 2 == 0 ? 2 : 1;
    }

    /** {@code g} (1 or 2) consecutive query heads on one KV head over all its positions; their queries and outputs are adjacent. */
    private static void heads(KvCache cache, int layer, int slot, float[] q, int qOff, int g, int kvHead, int headDim, int positions,
            float[] out, int outOff, float scale) {
        part(cache, layer, slot, kvHead, q, qOff, g, headDim, 0, positions, scale, out, outOff, headDim, null, SCRATCH.get());
    }

    /** A part has at least this many positions: below it, merging costs more than the threads win. */
    private static final int MIN_PART = 256;
    /** Enough tasks to keep 16–32 threads busy and even out their ends. */
    private static final int TARGET_TASKS = 32;

    /**
     * Set to false to never split a head's positions: attention as it was before flash-decoding,
     * for the benchmarks' before-and-after ({@code -jvmArgsAppend -Dternion.attention.split=false}).
     */
    public static final String SPLIT_PROPERTY = "ternion.attention.split";
    private static final boolean SPLIT = !"false".equals(System.getProperty(SPLIT_PROPERTY));

    /** Parts per KV head for {@code units} (rows × KV heads) over up to {@code positions} positions. */
    static int parts(int positions, int units) {
        if (!SPLIT) return 1;
        int byDepth = (positions + MIN_PART - 1) / MIN_PART, byTasks = (TARGET_TASKS + units - 1) / units;
        return Math.max(1, Math.min(byDepth, byTasks));
    }

    /**
     * Per thread: the group's queries, its scores over a part, a block of decoded keys or values (L rows of
     * headDim), and each query's L accumulator vectors of a block.
     */
    private static final class Scratch {
        float[] queries = new float[0], scores = new float[0], block = new float[0], lanes = new float[0];
        /**
         * The queries' bits again, as ints, for {@link #keyNibbles128}: C2 keeps loop-invariant
         * loads in registers only if no store in the loop may write their array, and the loop
         * stores its sums to {@code lanes}, also a float[]; an int[] it cannot alias.
         */
        int[] queryBits = new int[0];

        /**
         * Room for {@link #rowsOnHead}'s {@code rows} rows of {@code group} heads over {@code positions}
         * positions. Grown here, in its caller, not inside it: a thread's first call grows them,
         * before C2 profiles anything, so C2 compiles the growth as a trap, and a worker thread
         * of the real model taking it deoptimized rowsOnHead itself in the first prompt, which then
         * ran partly interpreted (about twice as long for a short one).
         */
        void fitRows(int rows, int group, int headDim, int positions) {
            int width = rows * group * headDim, heads = rows * group;
            if (queries.length < width) queries = new float[width];
            if (queryBits.length < width) queryBits = new int[width];
            if (scores.length < heads * positions) scores = new float[Math.max(heads * positions, 2 * scores.length)];
            if (block.length < ROW_BLOCK * headDim) block = new float[ROW_BLOCK * headDim];
            if (lanes.length < 2 * ROW_BLOCK * L) lanes = new float[2 * ROW_BLOCK * L];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /**
     * The caller's partial outputs of a split, reused from call to call (every part writes all of
     * its own): fresh, they were a third of a decode step's garbage at depth.
     */
    private static final ThreadLocal<float[]> PARTIAL = ThreadArrays.floats();

    private static void split(KvCache cache, int layer, float[] q, int qOff, int rows, int[] positions, int[] slots, int nHeads,
            int nKvHeads, int headDim, float[] out, int outOff, float scale, WorkerPool pool, int parts, long seen) {
        int group = nHeads / nKvHeads, qDim = nHeads * headDim, stride = headDim + 2;
        boolean rotatedValues = cache.valueType() != null && cache.valueType().rotated();
        // One part writes the output itself; several write partial outputs with their softmax's max and sum, merged below.
        float[] partial = parts == 1 ? null : ThreadArrays.atLeastFloats(PARTIAL, rows * nKvHeads * parts * group * stride);
        run(pool, rows * nKvHeads * parts, 2L * nHeads * headDim * seen, (from, to) -> {
            Scratch scratch = SCRATCH.get();
            for (int i = from; i < to; i++) {
                int p = i % parts, b = i / parts / nKvHeads, kvHead = i / parts % nKvHeads;
                int visible = positions[b] + 1, length = (visible + parts - 1) / parts;
                int t0 = Math.min(visible, p * length), t1 = Math.min(visible, t0 + length);
                int heads = b * qDim + kvHead * group * headDim;
                if (partial == null) {
                    part(cache, layer, slots[b], kvHead, q, qOff + heads, group, headDim, t0, t1, scale, out, outOff + heads, headDim, null, scratch);
                    if (rotatedValues) for (int j = 0; j < group; j++) KvRotation.inverse(out, outOff + heads + j * headDim, headDim);
                } else {
                    part(cache, layer, slots[b], kvHead, q, qOff + heads, group, headDim, t0, t1, scale, partial, i * group * stride, stride,
                            partial, scratch);
                }
            }
        });
        if (partial == null) return;
        for (int b = 0; b < rows; b++) {
            for (int h = 0; h < nHeads; h++) {
                int kvHead = h / group, j = h % group, o = outOff + b * qDim + h * headDim;
                int first = ((b * nKvHeads + kvHead) * parts * group + j) * stride, step = group * stride;
                float max = Float.NEGATIVE_INFINITY;
                for (int p = 0; p < parts; p++) max = Math.max(max, partial[first + p * step + headDim]);
                double sum = 0;
                for (int p = 0; p < parts; p++) {
                    int at = first + p * step;
                    if (partial[at + headDim + 1] > 0) sum += partial[at + headDim + 1] * Math.exp(partial[at + headDim] - max);
                }
                Arrays.fill(out, o, o + headDim, 0f);
                for (int p = 0; p < parts; p++) {
                    int at = first + p * step;
                    if (partial[at + headDim + 1] > 0) {
                        Vec.axpy((float) (partial[at + headDim + 1] * Math.exp(partial[at + headDim] - max) / sum), partial, at, out, o, headDim);
                    }
                }
                if (rotatedValues) KvRotation.inverse(out, o, headDim);
            }
        }
    }

    /**
     * At most this many rows of one slot share a task of {@link #shared}, and with it each key and
     * value decoded: 32 rows measured 1.02–1.09× faster than 16 (AttentionAB, 64 and 256 rows at
     * 4096 positions, q4_0 and f16, both orders).
     */
    private static final int ROW_GROUP = 32;
    /**
     * At most this many scores (4 MiB) per task of {@link #shared}, unless one row needs more: 32
     * rows of 4 heads at 65536 positions would take 32 MiB per thread.
     */
    private static final long ROW_SCORES = 1 << 20;
    /**
     * Positions {@link #rowsOnHead} decodes at a time for heads of 128: the kernels' set-up (their
     * two queries' or outputs' vectors, the bounds checks) is paid once per 64 positions, not 16.
     */
    private static final int ROW_BLOCK = 4 * L;

    /**
     * A batch of rows (a prompt), each one part from position 0: rows of one slot are taken up to
     * {@link #ROW_GROUP} at a time per KV head ({@link #rowsOnHead}), so that each block of keys and
     * values is decoded from the cache once for all of them, where a task per row decoded the
     * whole cache again for every row of the prompt. Each row's arithmetic is the one-row path's,
     * so the bits are the same for any grouping (which may then follow the batch and the threads).
     */
    private static void shared(KvCache cache, int layer, float[] q, int qOff, int rows, int[] positions, int[] slots, int nHeads, int nKvHeads,
            int headDim, float[] out, int outOff, float scale, WorkerPool pool, long seen, int maxPositions) {
        int group = nHeads / nKvHeads, qDim = nHeads * headDim;
        // Two tasks per thread, yet at least two rows a task (a small warm-up batch must run these kernels too), and each
        // task's scores (every row and head over every position) within ROW_SCORES.
        long byTasks = Math.max(2, (long) rows * nKvHeads / (2L * pool.threads())), byScores = ROW_SCORES / ((long) group * maxPositions);
        int per = (int) Math.clamp(Math.min(byTasks, byScores), 1, ROW_GROUP);
        int[] starts = new int[rows + 1];
        int groups = 0;
        for (int b = 0; b < rows; ) {
            starts[groups++] = b;
            int e = b + 1;
            while (e < rows && e - b < per && slots[e] == slots[b]) e++;
            b = e;
        }
        starts[groups] = rows;
        boolean rotatedValues = cache.valueType() != null && cache.valueType().rotated();
        run(pool, groups * nKvHeads, 2L * nHeads * headDim * seen, (from, to) -> {
            Scratch scratch = SCRATCH.get();
            for (int i = from; i < to; i++) {
                int g = i / nKvHeads, kvHead = i % nKvHeads, r0 = starts[g], r1 = starts[g + 1], heads = r0 * qDim + kvHead * group * headDim;
                // A row alone (a decode step among other sequences') has nothing to share: the direct reads of part are faster.
                if (r1 - r0 == 1) part(cache, layer, slots[r0], kvHead, q, qOff + heads, group, headDim, 0, positions[r0] + 1, scale, out, outOff + heads,
                        headDim, null, scratch);
                else {
                    int maxN = 0;
                    for (int r = r0; r < r1; r++) maxN = Math.max(maxN, positions[r] + 1);
                    scratch.fitRows(r1 - r0, group, headDim, maxN);
                    rowsOnHead(cache, layer, slots[r0], kvHead, q, qOff, qDim, r0, r1, positions, maxN, group, headDim, scale, out, outOff, scratch);
                }
                if (!rotatedValues) continue;
                for (int r = r0; r < r1; r++) {
                    for (int j = 0; j < group; j++) KvRotation.inverse(out, outOff + r * qDim + (kvHead * group + j) * headDim, headDim);
                }
            }
        });
    }

    /**
     * Rows r0..r1−1 (one slot; row r sees positions 0..positions[r], maxN of them at most, its
     * queries at q[qOff + r·qDim..], its output at dst[dstOff + r·qDim..]; scratch fitted by
     * {@link Scratch#fitRows}) on the {@code group} query heads of KV head {@code kvHead}: per block
     * of positions the keys are decoded into rows once (the ROWS path of {@link #part}, whose bits
     * every type's direct read matches) and scored for every row that sees the block; after each row's softmax, the values likewise. Row by row, this is what
     * {@link #part} does over 0..positions[r], in the same order, so the bits are the same. Heads
     * of 128 (with 16 lanes) take {@link #ROW_BLOCK} positions at a time and kernels that keep two
     * queries and their outputs in registers ({@link #keyPair128}, {@link #weighPair128}).
     */
    private static void rowsOnHead(KvCache cache, int layer, int slot, int kvHead, float[] q, int qOff, int qDim, int r0, int r1, int[] positions,
            int maxN, int group, int headDim, float scale, float[] dst, int dstOff, Scratch scratch) {
        int count = r1 - r0, width = group * headDim;
        boolean wide = L == 16 && headDim == 128;
        int keyBlock = wide ? ROW_BLOCK : BLOCK_POSITIONS;
        float[] qs = scratch.queries, scores = scratch.scores, block = scratch.block, lanes = scratch.lanes;
        int[] queryBits = scratch.queryBits;
        KvType kType = cache.keyType(), vType = cache.valueType();
        for (int r = 0; r < count; r++) {
            System.arraycopy(q, qOff + (r0 + r) * qDim + kvHead * width, qs, r * width, width);
            if (kType != null && kType.rotated()) for (int j = 0; j < group; j++) KvRotation.forward(qs, r * width + j * headDim, headDim);
        }
        if (wide) for (int i = 0; i < count * width; i++) queryBits[i] = Float.floatToRawIntBits(qs[i]);
        int first = cache.at(slot, kvHead, 0) / headDim, second = ROW_BLOCK * L;
        for (int b = 0; b < maxN; b += keyBlock) {
            int m = Math.min(keyBlock, maxN - b);
            for (int t = 0; t < m; t++) decode(kType, cache.kf, cache.kh, cache.kq, cache.kBytes, layer, first + b + t, headDim, block, t * headDim);
            for (int r = 0; r < count; r++) {
                int seen = positions[r0 + r] + 1 - b;
                if (seen <= 0) continue;
                for (int j = 0; j < group; j += 2) {
                    int c0 = r * group + j, c1 = r * group + Math.min(j + 1, group - 1);
                    // Pair by pair, so the lanes of only two queries are live: at L·L floats per 16 positions, all of them outgrew L1.
                    if (wide) keyPair128(block, Math.min(m, seen), queryBits, c0 * headDim, c1 * headDim, lanes, 0, second);
                    else keyRow(block, Math.min(m, seen), qs, c0 * headDim, c1 * headDim, headDim, lanes, 0, second);
                    for (int sub = 0; sub < m && sub < seen; sub += L) {
                        int ms = Math.min(L, seen - sub);
                        sumAcross(lanes, sub * L, block, qs, c0 * headDim, ms, headDim, scale, scores, c0 * maxN + b + sub);
                        if (c1 != c0) sumAcross(lanes, second + sub * L, block, qs, c1 * headDim, ms, headDim, scale, scores, c1 * maxN + b + sub);
                    }
                }
            }
        }
        for (int r = 0; r < count; r++) {
            int n = positions[r0 + r] + 1, o = dstOff + (r0 + r) * qDim + kvHead * width;
            for (int j = 0; j < group; j++) Ops.softmax(scores, (r * group + j) * maxN, n, null, 0);
            Arrays.fill(dst, o, o + width, 0f);
        }
        for (int b = 0; b < maxN; b += ROW_BLOCK) {
            int m = Math.min(ROW_BLOCK, maxN - b);
            for (int t = 0; t < m; t++) decode(vType, cache.vf, cache.vh, cache.vq, cache.vBytes, layer, first + b + t, headDim, block, t * headDim);
            for (int r = 0; r < count; r++) {
                int seen = positions[r0 + r] + 1 - b;
                if (seen <= 0) continue;
                int mr = Math.min(m, seen), o = dstOff + (r0 + r) * qDim + kvHead * width;
                for (int j = 0; j < group; j += 2) {
                    int j1 = Math.min(j + 1, group - 1), s0 = (r * group + j) * maxN + b, s1 = (r * group + j1) * maxN + b;
                    if (wide) weighPair128(scores, s0, s1, mr, block, dst, o + j * headDim, o + j1 * headDim);
                    else weighRows(scores, s0, s1, block, mr, headDim, dst, o + j * headDim, o + j1 * headDim);
                }
            }
        }
    }

    /**
     * {@link #weighRows} for two queries of 128 (weights at scores[s0..] and scores[s1..], outputs at
     * dst[d0..] and dst[d1..]; d0 may be d1 with s0 = s1): the sixteen output vectors stay in
     * registers over the m positions, each value vector loaded once for both and each weight
     * broadcast once, where weighRows broadcasts it once per output vector.
     */
    private static void weighPair128(float[] scores, int s0, int s1, int m, float[] block, float[] dst, int d0, int d1) {
        FloatVector a0 = FloatVector.fromArray(F, dst, d0), a1 = FloatVector.fromArray(F, dst, d0 + 16);
        FloatVector a2 = FloatVector.fromArray(F, dst, d0 + 32), a3 = FloatVector.fromArray(F, dst, d0 + 48);
        FloatVector a4 = FloatVector.fromArray(F, dst, d0 + 64), a5 = FloatVector.fromArray(F, dst, d0 + 80);
        FloatVector a6 = FloatVector.fromArray(F, dst, d0 + 96), a7 = FloatVector.fromArray(F, dst, d0 + 112);
        FloatVector b0 = FloatVector.fromArray(F, dst, d1), b1 = FloatVector.fromArray(F, dst, d1 + 16);
        FloatVector b2 = FloatVector.fromArray(F, dst, d1 + 32), b3 = FloatVector.fromArray(F, dst, d1 + 48);
        FloatVector b4 = FloatVector.fromArray(F, dst, d1 + 64), b5 = FloatVector.fromArray(F, dst, d1 + 80);
        FloatVector b6 = FloatVector.fromArray(F, dst, d1 + 96), b7 = FloatVector.fromArray(F, dst, d1 + 112);
        for (int t = 0; t < m; t++) {
            FloatVector w = FloatVector.broadcast(F, scores[s0 + t]), x = FloatVector.broadcast(F, scores[s1 + t]);
            int row = t * 128;
            FloatVector v = FloatVector.fromArray(F, block, row);
            a0 = v.fma(w, a0);
            b0 = v.fma(x, b0);
            v = FloatVector.fromArray(F, block, row + 16);
            a1 = v.fma(w, a1);
            b1 = v.fma(x, b1);
            v = FloatVector.fromArray(F, block, row + 32);
            a2 = v.fma(w, a2);
            b2 = v.fma(x, b2);
            v = FloatVector.fromArray(F, block, row + 48);
            a3 = v.fma(w, a3);
            b3 = v.fma(x, b3);
            v = FloatVector.fromArray(F, block, row + 64);
            a4 = v.fma(w, a4);
            b4 = v.fma(x, b4);
            v = FloatVector.fromArray(F, block, row + 80);
            a5 = v.fma(w, a5);
            b5 = v.fma(x, b5);
            v = FloatVector.fromArray(F, block, row + 96);
            a6 = v.fma(w, a6);
            b6 = v.fma(x, b6);
            v = FloatVector.fromArray(F, block, row + 112);
            a7 = v.fma(w, a7);
            b7 = v.fma(x, b7);
        }
        a0.intoArray(dst, d0);
        a1.intoArray(dst, d0 + 16);
        a2.intoArray(dst, d0 + 32);
        a3.intoArray(dst, d0 + 48);
        a4.intoArray(dst, d0 + 64);
        a5.intoArray(dst, d0 + 80);
        a6.intoArray(dst, d0 + 96);
        a7.intoArray(dst, d0 + 112);
        b0.intoArray(dst, d1);
        b1.intoArray(dst, d1 + 16);
        b2.intoArray(dst, d1 + 32);
        b3.intoArray(dst, d1 + 48);
        b4.intoArray(dst, d1 + 64);
        b5.intoArray(dst, d1 + 80);
        b6.intoArray(dst, d1 + 96);
        b7.intoArray(dst, d1 + 112);
    }

    /** {@link #keyRow} for two queries of 128 read as int bits (so that C2 keeps their 16 vectors in registers, as in {@link #keyNibbles128}). */
    private static void keyPair128(float[] block, int m, int[] qs, int qa, int qb, float[] lanes, int la, int lb) {
        FloatVector a0 = IntVector.fromArray(Vec.I, qs, qa).reinterpretAsFloats(), a1 = IntVector.fromArray(Vec.I, qs, qa + 16).reinterpretAsFloats();
        FloatVector a2 = IntVector.fromArray(Vec.I, qs, qa + 32).reinterpretAsFloats(), a3 = IntVector.fromArray(Vec.I, qs, qa + 48).reinterpretAsFloats();
        FloatVector a4 = IntVector.fromArray(Vec.I, qs, qa + 64).reinterpretAsFloats(), a5 = IntVector.fromArray(Vec.I, qs, qa + 80).reinterpretAsFloats();
        FloatVector a6 = IntVector.fromArray(Vec.I, qs, qa + 96).reinterpretAsFloats(), a7 = IntVector.fromArray(Vec.I, qs, qa + 112).reinterpretAsFloats();
        FloatVector b0 = IntVector.fromArray(Vec.I, qs, qb).reinterpretAsFloats(), b1 = IntVector.fromArray(Vec.I, qs, qb + 16).reinterpretAsFloats();
        FloatVector b2 = IntVector.fromArray(Vec.I, qs, qb + 32).reinterpretAsFloats(), b3 = IntVector.fromArray(Vec.I, qs, qb + 48).reinterpretAsFloats();
        FloatVector b4 = IntVector.fromArray(Vec.I, qs, qb + 64).reinterpretAsFloats(), b5 = IntVector.fromArray(Vec.I, qs, qb + 80).reinterpretAsFloats();
        FloatVector b6 = IntVector.fromArray(Vec.I, qs, qb + 96).reinterpretAsFloats(), b7 = IntVector.fromArray(Vec.I, qs, qb + 112).reinterpretAsFloats();
        for (int t = 0; t < m; t++) {
            int row = t * 128;
            FloatVector k = FloatVector.fromArray(F, block, row);
            FloatVector x = a0.fma(k, FloatVector.zero(F)), y = b0.fma(k, FloatVector.zero(F));
            k = FloatVector.fromArray(F, block, row + 16);
            x = a1.fma(k, x);
            y = b1.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 32);
            x = a2.fma(k, x);
            y = b2.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 48);
            x = a3.fma(k, x);
            y = b3.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 64);
            x = a4.fma(k, x);
            y = b4.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 80);
            x = a5.fma(k, x);
            y = b5.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 96);
            x = a6.fma(k, x);
            y = b6.fma(k, y);
            k = FloatVector.fromArray(F, block, row + 112);
            x = a7.fma(k, x);
            y = b7.fma(k, y);
            x.intoArray(lanes, la + t * L);
            y.intoArray(lanes, lb + t * L);
        }
    }

    /** Positions a part takes at a time: L, one per lane of the vector their scores are summed into. */
    private static final int BLOCK_POSITIONS = L;

    /**
     * The {@code group} query heads at q[qOff..] (one after the other) on KV head {@code kvHead}
     * over positions t0..t1−1: each head's softmax-weighted values (normalized over this part) into
     * dst at {@code dstOff + j·dstStride}; with {@code stats}, the softmax's max and sum after them.
     *
     * <p>Positions go L at a time: their keys are read (widened in registers from F16, Q8_0, Q4_0, TURBO4 or
     * TURBO3, else decoded into a block of L rows), two queries per key read, each query's L dot products
     * are left as L accumulator vectors and summed across their lanes together ({@link #sumAcross}:
     * 3 operations per position at 16 lanes instead of a reduction of 8 each), then, after the
     * softmax, the block's values are read the same way and each output vector takes the L weighted
     * values in a register before it is stored. Every
     * score and output lane sees the additions of {@link Vec#dot} and {@link Vec#axpy} in their
     * order, so the bits are those of scoring and summing one position at a time.
     */
    private static void part(KvCache cache, int layer, int slot, int kvHead, float[] q, int qOff, int group, int headDim, int t0,
            int t1, float scale, float[] dst, int dstOff, int dstStride, float[] stats, Scratch scratch) {
        int n = t1 - t0;
        for (int j = 0; j < group; j++) Arrays.fill(dst, dstOff + j * dstStride, dstOff + j * dstStride + headDim, 0f);
        if (n == 0) {
            for (int j = 0; j < group; j++) {
                stats[dstOff + j * dstStride + headDim] = Float.NEGATIVE_INFINITY;
                stats[dstOff + j * dstStride + headDim + 1] = 0;
            }
            return;
        }
        if (scratch.queries.length < group * headDim) scratch.queries = new float[group * headDim];
        if (scratch.scores.length < group * n) scratch.scores = new float[Math.max(group * n, 2 * scratch.scores.length)];
        if (scratch.block.length < BLOCK_POSITIONS * headDim) scratch.block = new float[BLOCK_POSITIONS * headDim];
        if (scratch.lanes.length < group * L * L) scratch.lanes = new float[group * L * L];
        float[] qs = scratch.queries, scores = scratch.scores, block = scratch.block, lanes = scratch.lanes;
        System.arraycopy(q, qOff, qs, 0, group * headDim);
        KvType kType = cache.keyType(), vType = cache.valueType();
        if (kType != null && kType.rotated()) for (int j = 0; j < group; j++) KvRotation.forward(qs, j * headDim, headDim);
        int first = cache.at(slot, kvHead, t0) / headDim;
        int keys = source(kType, headDim), values = source(vType, headDim);
        // A query too large to carry F16 keys' 2^112 (see keyHalves) scores the keys decoded into rows: the same bits.
        if (keys == HALVES && !scaleForHalves(qs, group * headDim)) keys = ROWS;
        if (scratch.queryBits.length < group * headDim) scratch.queryBits = new int[group * headDim];
        int[] queryBits = scratch.queryBits;
        if (nibbles128(keys, headDim, cache.kBytes)) for (int i = 0; i < group * headDim; i++) queryBits[i] = Float.floatToRawIntBits(qs[i]);
        IntVector valueTable = values == NIBBLES || values == PLANES ? IntVector.fromArray(Vec.I, table(vType), 0) : null;
        for (int b = 0; b < n; b += BLOCK_POSITIONS) {
            int m = Math.min(BLOCK_POSITIONS, n - b);
            if (keys == ROWS) {
                for (int t = 0; t < m; t++) decode(kType, cache.kf, cache.kh, cache.kq, cache.kBytes, layer, first + b + t, headDim, block, t * headDim);
            }
            // Two queries per key read; an odd group's last query is scored as both of a pair (the same bits twice).
            for (int j = 0; j < group; j += 2) {
                int j1 = Math.min(j + 1, group - 1), q0 = j * headDim, q1 = j1 * headDim, l0 = j * L * L, l1 = j1 * L * L, vector = first + b;
                switch (keys) {
                    case HALVES -> keyHalves(cache.kh[layer], vector * headDim, m, qs, q0, q1, headDim, lanes, l0, l1);
                    case BYTES -> keyBytes(cache.kq[layer], vector * cache.kBytes, cache.kBytes, m, qs, q0, q1, headDim, lanes, l0, l1);
                    case NIBBLES, PLANES -> keyCodes(keys, table(kType), cache.kq[layer], vector * cache.kBytes, cache.kBytes, m, qs, queryBits, q0, q1, headDim,
                            lanes, l0, l1);
                    default -> keyRow(block, m, qs, q0, q1, headDim, lanes, l0, l1);
                }
            }
            for (int j = 0; j < group; j++) sumAcross(lanes, j * L * L, block, qs, j * headDim, m, headDim, scale, scores, j * n + b);
        }
        for (int j = 0; j < group; j++) Ops.softmax(scores, j * n, n, stats, dstOff + j * dstStride + headDim);
        // F16 values are widened without their 2^112, which the weights (at most 1) carry instead; see keyHalves.
        if (values == HALVES) Vec.scale(scores, 0, group * n, 0x1p112f);
        for (int b = 0; b < n; b += BLOCK_POSITIONS) {
            int m = Math.min(BLOCK_POSITIONS, n - b);
            if (values == ROWS) {
                for (int t = 0; t < m; t++) decode(vType, cache.vf, cache.vh, cache.vq, cache.vBytes, layer, first + b + t, headDim, block, t * headDim);
            }
            for (int j = 0; j < group; j += 2) {
                int j1 = Math.min(j + 1, group - 1), s0 = j * n + b, s1 = j1 * n + b, d0 = dstOff + j * dstStride, d1 = dstOff + j1 * dstStride;
                if (weighsInPairs(values, headDim)) {
                    int at = (first + b) * (values == HALVES ? headDim : cache.vBytes);
                    weighPairs(values, valueTable, scores, s0, s1, cache.vh == null ? null : cache.vh[layer], cache.vq == null ? null : cache.vq[layer],
                            at, cache.vBytes, m, headDim, dst, d0, d1);
                    continue;
                }
                switch (values) {
                    case HALVES -> weighHalves(scores, s0, s1, cache.vh[layer], (first + b) * headDim, m, headDim, dst, d0, d1);
                    case BYTES -> weighBytes(scores, s0, s1, cache.vq[layer], (first + b) * cache.vBytes, cache.vBytes, m, headDim, dst, d0, d1);
                    default -> weighRows(scores, s0, s1, block, m, headDim, dst, d0, d1);
                }
            }
        }
    }

    /**
     * How a side is read: F16 halves and Q8_0 bytes of whole vectors (headDim a multiple of L, so a
     * vector never straddles a 32-block) are widened in registers straight from the cache and used
     * at once; with 16 lanes and whole 32-blocks, so are Q4_0 and TURBO4 (a block's 16 bytes give
     * its two vectors through the table) and TURBO3 (a block's two planes give its two vectors, see
     * {@link #turbo3Values}; 1.8× faster than rows at 16384 positions); the rest is decoded into a
     * block of rows first. Reading
     * Q4_0 straight from the cache first measured 1.36× slower than rows, when each value vector
     * took its own pass over the positions and read the block's bytes again; one pass per block for
     * both of its vectors made it 1.8× faster than rows (AttentionAB, Bonsai-1.7B's 16 query and 8
     * KV heads of 128, 4096 positions, 1 thread: 1002 against 1839 µs per step).
     */
    private static final int ROWS = 0, HALVES = 1, BYTES = 2, NIBBLES = 3, PLANES = 4;

    private static int source(KvType type, int headDim) {
        if (type == null || headDim % L != 0 || Vec.B == null) return ROWS;
        if ((type == KvType.Q4_0 || type == KvType.TURBO4) && L == 16 && headDim % KvType.BLOCK == 0) return NIBBLES;
        if (type == KvType.TURBO3 && L == 16 && headDim % KvType.BLOCK == 0) return PLANES;
        return type == KvType.F16 ? HALVES : type == KvType.Q8_0 ? BYTES : ROWS;
    }

    private static int[] table(KvType type) {
        return type == KvType.Q4_0 ? Q4_0_BITS : type == KvType.TURBO3 ? TURBO3_BITS : TURBO4_BITS;
    }

    /**
     * The lane-wise dot products of queries q0 and q1 with each of m keys, key t's into lanes[l0 + t·L..]
     * and lanes[l1 + t·L..]: here the rows of the block (as {@link Vec#dot} before its reduction, up
     * to its last full vector).
     */
    private static void keyRow(float[] block, int m, float[] qs, int q0, int q1, int headDim, float[] lanes, int l0, int l1) {
        for (int t = 0, row = 0; t < m; t++, row += headDim) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            for (int i = 0, body = F.loopBound(headDim); i < body; i += L) {
                FloatVector key = FloatVector.fromArray(F, block, row + i);
                acc0 = FloatVector.fromArray(F, qs, q0 + i).fma(key, acc0);
                acc1 = FloatVector.fromArray(F, qs, q1 + i).fma(key, acc1);
            }
            acc0.intoArray(lanes, l0 + t * L);
            acc1.intoArray(lanes, l1 + t * L);
        }
    }

    /**
     * {@link #keyRow} for F16 keys from h[at..], with queries {@link #scaleForHalves scaled} by
     * 2¹¹²: each key vector is widened as {@link #halves} widens it but for the last multiplication
     * by 2¹¹² ({@link Vec#halfBits}), which the query carries. Both scalings are exact, so each
     * product, and each fused multiply-add, is the one {@link #keyRow} makes on the decoded row.
     * Per key vector that saves one of the widening's four operations, a third of those on the
     * multiply-add ports. The weighing of F16 values does the same with the weights. AttentionAB
     * (16/8 heads, 600 positions, one thread): 1.09–1.17× per step with the cache in L3 (2 layers),
     * within the noise from memory (28 layers), where one thread's reads bound the step.
     */
    private static void keyHalves(short[] h, int at, int m, float[] qs, int q0, int q1, int headDim, float[] lanes, int l0, int l1) {
        for (int t = 0; t < m; t++, at += headDim) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            for (int i = 0; i < headDim; i += L) {
                FloatVector key = Vec.halfBits(ShortVector.fromArray(S, h, at + i));
                acc0 = FloatVector.fromArray(F, qs, q0 + i).fma(key, acc0);
                acc1 = FloatVector.fromArray(F, qs, q1 + i).fma(key, acc1);
            }
            acc0.intoArray(lanes, l0 + t * L);
            acc1.intoArray(lanes, l1 + t * L);
        }
    }

    /**
     * Multiplies the n queries by 2¹¹² for {@link #keyHalves} and returns true, or leaves them and
     * returns false when one is 2¹⁵ or more in magnitude (or NaN): times 2¹¹² it could overflow.
     */
    private static boolean scaleForHalves(float[] qs, int n) {
        for (int i = 0; i < n; i++) if (!(Math.abs(qs[i]) < 0x1p15f)) return false;
        Vec.scale(qs, 0, n, 0x1p112f);
        return true;
    }

    /** {@link #keyRow} for Q8_0 keys from src[at..] ({@code bytes} each), each vector of int8s widened and scaled as {@link #q8} does. */
    private static void keyBytes(byte[] src, int at, int bytes, int m, float[] qs, int q0, int q1, int headDim, float[] lanes, int l0, int l1) {
        if (L == 16 && headDim % KvType.BLOCK == 0) {
            // A block is exactly two vectors: no inner loop, whose set-up per block cost more than its work.
            for (int t = 0; t < m; t++, at += bytes) {
                FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
                for (int i = 0, block = at; i < headDim; i += KvType.BLOCK, block += 2 + KvType.BLOCK) {
                    float d = scaleAt(src, block);
                    FloatVector a = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, block + 2)).mul(d);
                    FloatVector b = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, block + 2 + L)).mul(d);
                    acc0 = FloatVector.fromArray(F, qs, q0 + i).fma(a, acc0);
                    acc1 = FloatVector.fromArray(F, qs, q1 + i).fma(a, acc1);
                    acc0 = FloatVector.fromArray(F, qs, q0 + i + L).fma(b, acc0);
                    acc1 = FloatVector.fromArray(F, qs, q1 + i + L).fma(b, acc1);
                }
                acc0.intoArray(lanes, l0 + t * L);
                acc1.intoArray(lanes, l1 + t * L);
            }
            return;
        }
        for (int t = 0; t < m; t++, at += bytes) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            for (int i = 0, block = at; i < headDim; block += 2 + KvType.BLOCK) {
                float d = scaleAt(src, block);
                for (int end = Math.min(headDim, i + KvType.BLOCK), c = block + 2; i < end; i += L, c += L) {
                    FloatVector key = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, c)).mul(d);
                    acc0 = FloatVector.fromArray(F, qs, q0 + i).fma(key, acc0);
                    acc1 = FloatVector.fromArray(F, qs, q1 + i).fma(key, acc1);
                }
            }
            acc0.intoArray(lanes, l0 + t * L);
            acc1.intoArray(lanes, l1 + t * L);
        }
    }

    /**
     * {@link #keyRow} for Q4_0 or TURBO4 keys ({@code source} NIBBLES) or TURBO3 keys (PLANES) from
     * src[at..] (16 float lanes, whole 32-blocks): each block's bytes are read once for its two
     * vectors (low nibbles, then high; or the planes' first 16 elements, then the last), each value
     * table[code]·d as {@link #nibbles} and {@link #turbo3} decode it.
     */
    private static void keyCodes(int source, int[] bits, byte[] src, int at, int bytes, int m, float[] qs, int[] queryBits, int q0, int q1, int headDim,
            float[] lanes, int l0, int l1) {
        if (nibbles128(source, headDim, bytes)) {
            keyNibbles128(bits, src, at, m, queryBits, q0, q1, lanes, l0, l1);
            return;
        }
        IntVector table = IntVector.fromArray(Vec.I, bits, 0), pairShifts = IntVector.fromArray(Vec.I, PAIR_SHIFTS, 0);
        IntVector bitShifts = IntVector.fromArray(Vec.I, BIT_SHIFTS, 0), four = IntVector.broadcast(Vec.I, 4);
        int blockBytes = source == PLANES ? TURBO3_BLOCK : NIBBLE_BLOCK;
        for (int t = 0; t < m; t++, at += bytes) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            for (int i = 0, block = at; i < headDim; i += KvType.BLOCK, block += blockBytes) {
                float d = scaleAt(src, block);
                FloatVector lo, hi;
                if (source == PLANES) {
                    long pairs = (long) LONG_LE.get(src, block + 2);
                    int high = (int) INT_LE.get(src, block + 10);
                    lo = turbo3Values(table, pairShifts, bitShifts, four, (int) pairs, high << 2, d);
                    hi = turbo3Values(table, pairShifts, bitShifts, four, (int) (pairs >>> 32), high >>> 14, d);
                } else {
                    IntVector codes = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, block + 2));
                    lo = codes.and(15).selectFrom(table).reinterpretAsFloats().mul(d);
                    hi = codes.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().mul(d);
                }
                acc0 = FloatVector.fromArray(F, qs, q0 + i).fma(lo, acc0);
                acc1 = FloatVector.fromArray(F, qs, q1 + i).fma(lo, acc1);
                acc0 = FloatVector.fromArray(F, qs, q0 + i + 16).fma(hi, acc0);
                acc1 = FloatVector.fromArray(F, qs, q1 + i + 16).fma(hi, acc1);
            }
            acc0.intoArray(lanes, l0 + t * L);
            acc1.intoArray(lanes, l1 + t * L);
        }
    }

    /** Whether a side is read by {@link #keyNibbles128} / {@link #weighNibbles128}: Q4_0 or TURBO4 in heads of 128, whole 72-byte heads. */
    private static boolean nibbles128(int source, int headDim, int bytes) {
        return source == NIBBLES && headDim == 128 && bytes == NIBBLE_HEAD;
    }

    /**
     * {@link #keyCodes} for Q4_0 and TURBO4 keys in heads of 128 (every model Ternion targets:
     * Qwen3 and Bonsai, BitNet b1.58 2B4T, Llama 3 8B): a position's 72 bytes and four blocks are
     * constants here, so C2 writes the four blocks out and checks the bounds once a position, where
     * the general loop kept one iteration a block with a bounds check on each of its loads (40
     * instructions for 4 multiply-adds). Each block's table is scaled once ({@code table[c]·d} is
     * the same product as {@code value·d}), one multiply where the two vectors took one each. The
     * same bits as {@link #keyCodes}. The same treatment measured no faster for Q8_0 keys, and
     * slower for F16 and TURBO3 ones (README, "Constant strides"), so they keep the general loops.
     * It loads its table itself: a vector passed to a method C2 may not inline is boxed. It reads
     * the queries as int bits ({@link Scratch#queryBits}), so that C2 loads their 16 vectors once
     * per call, not once per position: 1.09–1.20× per attention step at 16384 positions.
     */
    private static void keyNibbles128(int[] bits, byte[] src, int at, int m, int[] qs, int q0, int q1, float[] lanes, int l0, int l1) {
        IntVector table = IntVector.fromArray(Vec.I, bits, 0);
        for (int t = 0; t < m; t++) {
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            int p = at + t * NIBBLE_HEAD;
            for (int k = 0; k < 4; k++) {
                int block = p + k * NIBBLE_BLOCK, i = k * KvType.BLOCK;
                IntVector scaled = table.reinterpretAsFloats().mul(scaleAt(src, block)).reinterpretAsInts();
                IntVector codes = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, block + 2));
                FloatVector lo = codes.and(15).selectFrom(scaled).reinterpretAsFloats();
                FloatVector hi = codes.lanewise(VectorOperators.LSHR, 4).selectFrom(scaled).reinterpretAsFloats();
                acc0 = IntVector.fromArray(Vec.I, qs, q0 + i).reinterpretAsFloats().fma(lo, acc0);
                acc1 = IntVector.fromArray(Vec.I, qs, q1 + i).reinterpretAsFloats().fma(lo, acc1);
                acc0 = IntVector.fromArray(Vec.I, qs, q0 + i + 16).reinterpretAsFloats().fma(hi, acc0);
                acc1 = IntVector.fromArray(Vec.I, qs, q1 + i + 16).reinterpretAsFloats().fma(hi, acc1);
            }
            acc0.intoArray(lanes, l0 + t * L);
            acc1.intoArray(lanes, l1 + t * L);
        }
    }

    /**
     * One query's block scores: lane t of the sum is the sum of the lanes of accumulator t (at
     * lanes[off + t·L]), added as {@link Vec#sum} adds them (lane i with lane i + L/2, then i + L/4,
     * …), L accumulators at once: each step folds the halves of every segment of two vectors into
     * one (two two-vector permutes and one add), so L vectors become one in L − 1 steps. Then the
     * head's tail past the last full vector (scalar, after the sum, as {@link Vec#dot}), times scale,
     * into scores[at..at+m).
     */
    static void sumAcross(float[] lanes, int off, float[] block, float[] qs, int qOff, int m, int headDim, float scale,
            float[] scores, int at) {
        if (L == 16) {
            sumAcross16(lanes, off);
        } else {
            int level = 0;
            for (int count = L; count > 1; count >>= 1, level++) {
                IntVector lo = IntVector.fromArray(Vec.I, FOLD, 2 * level * L), hi = IntVector.fromArray(Vec.I, FOLD, (2 * level + 1) * L);
                for (int i = 0; i < count; i += 2) {
                    IntVector a = FloatVector.fromArray(F, lanes, off + i * L).reinterpretAsInts();
                    IntVector b = FloatVector.fromArray(F, lanes, off + (i + 1) * L).reinterpretAsInts();
                    lo.selectFrom(a, b).reinterpretAsFloats().add(hi.selectFrom(a, b).reinterpretAsFloats()).intoArray(lanes, off + i / 2 * L);
                }
            }
        }
        FloatVector sums = IntVector.fromArray(Vec.I, FOLD_ORDER, 0).selectFrom(FloatVector.fromArray(F, lanes, off).reinterpretAsInts())
                .reinterpretAsFloats();
        int body = F.loopBound(headDim);
        if (body == headDim && m == L) {
            sums.mul(scale).intoArray(scores, at);
            return;
        }
        sums.intoArray(lanes, off);
        for (int t = 0; t < m; t++) {
            float sum = lanes[off + t];
            for (int i = body; i < headDim; i++) sum += block[t * headDim + i] * qs[qOff + i];
            scores[at + t] = scale * sum;
        }
    }

    /**
     * a[off + t] = {@link Vec#sum} of the accumulator stored at a[off + t·L], for t &lt; L: {@link
     * #sumAcross} without a tail or a scale (times 1, exact), for another kernel's accumulators.
     */
    static void sumsAcross(float[] a, int off) {
        sumAcross(a, off, null, null, 0, L, L, 1f, a, off);
    }

    /**
     * {@link #sumAcross}'s folds at 16 lanes, two steps per pass in registers: as one loop of
     * single steps, each step's sums went to memory and the next step loaded them back, and that
     * chain of stores and loads made the folds a sixth of a step at 16384 positions (AttentionAB).
     * All four steps written out in one method ran as Java (C2's node limit stopped its inlining).
     * The same additions in the same order, so the same bits; the folded sums end in
     * lanes[off..off + L), in the order the loop leaves them (FOLD_ORDER still to apply).
     */
    private static void sumAcross16(float[] lanes, int off) {
        for (int quarter = 0; quarter < 4; quarter++) foldTwice(lanes, off + 4 * quarter * L, off + quarter * L, 0);
        foldTwice(lanes, off, off, 2);
    }

    /**
     * Steps {@code level} and {@code level + 1} of the folds on the four vectors at lanes[from..]:
     * (0, 1) and (2, 3), then the pair of sums, into lanes[to..to + L). Vectors stay inside: passed
     * to or returned from a method C2 does not inline, they would be boxed.
     */
    private static void foldTwice(float[] lanes, int from, int to, int level) {
        IntVector lo = IntVector.fromArray(Vec.I, FOLD, 2 * level * L), hi = IntVector.fromArray(Vec.I, FOLD, (2 * level + 1) * L);
        FloatVector a = fold(lo, hi, FloatVector.fromArray(F, lanes, from), FloatVector.fromArray(F, lanes, from + L));
        FloatVector b = fold(lo, hi, FloatVector.fromArray(F, lanes, from + 2 * L), FloatVector.fromArray(F, lanes, from + 3 * L));
        fold(IntVector.fromArray(Vec.I, FOLD, (2 * level + 2) * L), IntVector.fromArray(Vec.I, FOLD, (2 * level + 3) * L), a, b).intoArray(lanes, to);
    }

    /** One fold of {@link #sumAcross}: the lanes lo and hi pick from the pair (a, b), added. */
    private static FloatVector fold(IntVector lo, IntVector hi, FloatVector a, FloatVector b) {
        IntVector x = a.reinterpretAsInts(), y = b.reinterpretAsInts();
        return lo.selectFrom(x, y).reinterpretAsFloats().add(hi.selectFrom(x, y).reinterpretAsFloats());
    }

    /**
     * The two-vector permutes of {@link #sumAcross}, per step: at step s, segments of L/2ˢ lanes
     * (each one position's partial sums) fold their halves; output lane o takes from the pair (a, b)
     * of inputs lane FOLD[2sL + o] (lo) and FOLD[(2s+1)L + o] (hi), indices ≥ L meaning b's, so that
     * a's segment and b's segment lie side by side, each half as long. FOLD_ORDER then puts
     * position t's sum in lane t.
     */
    private static final int[] FOLD, FOLD_ORDER = new int[L];

    static {
        int steps = Integer.numberOfTrailingZeros(L);
        FOLD = new int[2 * steps * L];
        // Which position each lane's partial sums belong to, per vector as the steps combine them.
        int[][] owners = new int[L][];
        for (int t = 0; t < L; t++) owners[t] = new int[] {t};
        for (int s = 0, segment = L; s < steps; s++, segment >>= 1) {
            int half = segment / 2;
            for (int o = 0; o < L; o++) {
                int pair = o / segment, w = o % segment, from = w < half ? pair * segment + w : L + pair * segment + w - half;
                FOLD[2 * s * L + o] = from;
                FOLD[(2 * s + 1) * L + o] = from + half;
            }
            int count = L >> s;
            for (int i = 0; i < count; i += 2) {
                int[] a = owners[i], b = owners[i + 1], joined = new int[2 * a.length];
                for (int k = 0; k < a.length; k++) {
                    joined[2 * k] = a[k];
                    joined[2 * k + 1] = b[k];
                }
                owners[i / 2] = joined;
            }
        }
        for (int o = 0; o < L; o++) FOLD_ORDER[owners[0][o]] = o;
    }

    /**
     * dst[d0..+headDim) and dst[d1..+headDim) += Σ over the block's m values of weight·value, the
     * weights at scores[s0..] and scores[s1..]: per output vector, the m fused multiply-adds in
     * position order in a register, as m calls of {@link Vec#axpy} would do them in memory. d0 may
     * be d1 (with s0 = s1: an odd group's last query), as both are read before either is written.
     */
    private static void weighRows(float[] scores, int s0, int s1, float[] block, int m, int headDim, float[] dst, int d0, int d1) {
        int body = F.loopBound(headDim), i = 0;
        for (; i < body; i += L) {
            FloatVector acc0 = FloatVector.fromArray(F, dst, d0 + i), acc1 = FloatVector.fromArray(F, dst, d1 + i);
            for (int t = 0; t < m; t++) {
                FloatVector value = FloatVector.fromArray(F, block, t * headDim + i);
                acc0 = value.fma(FloatVector.broadcast(F, scores[s0 + t]), acc0);
                acc1 = value.fma(FloatVector.broadcast(F, scores[s1 + t]), acc1);
            }
            acc0.intoArray(dst, d0 + i);
            acc1.intoArray(dst, d1 + i);
        }
        for (; i < headDim; i++) {
            float y0 = dst[d0 + i], y1 = dst[d1 + i];
            for (int t = 0; t < m; t++) {
                y0 += scores[s0 + t] * block[t * headDim + i];
                y1 += scores[s1 + t] * block[t * headDim + i];
            }
            dst[d0 + i] = y0;
            dst[d1 + i] = y1;
        }
    }

    /**
     * {@link #weighRows} over F16 values of whole vectors from h[at..], each widened once for both
     * queries, without its 2¹¹², which the weights carry (see {@link #keyHalves}).
     */
    private static void weighHalves(float[] scores, int s0, int s1, short[] h, int at, int m, int headDim, float[] dst, int d0, int d1) {
        for (int i = 0; i < headDim; i += L) {
            FloatVector acc0 = FloatVector.fromArray(F, dst, d0 + i), acc1 = FloatVector.fromArray(F, dst, d1 + i);
            for (int t = 0; t < m; t++) {
                FloatVector value = Vec.halfBits(ShortVector.fromArray(S, h, at + t * headDim + i));
                acc0 = value.fma(FloatVector.broadcast(F, scores[s0 + t]), acc0);
                acc1 = value.fma(FloatVector.broadcast(F, scores[s1 + t]), acc1);
            }
            acc0.intoArray(dst, d0 + i);
            acc1.intoArray(dst, d1 + i);
        }
    }

    /** {@link #weighRows} over Q8_0 values of whole vectors from src[at..] ({@code bytes} per position), each widened and scaled once. */
    private static void weighBytes(float[] scores, int s0, int s1, byte[] src, int at, int bytes, int m, int headDim, float[] dst, int d0,
            int d1) {
        for (int i = 0; i < headDim; i += L) {
            int block = at + i / KvType.BLOCK * (2 + KvType.BLOCK), c = block + 2 + i % KvType.BLOCK;
            FloatVector acc0 = FloatVector.fromArray(F, dst, d0 + i), acc1 = FloatVector.fromArray(F, dst, d1 + i);
            for (int t = 0; t < m; t++) {
                FloatVector value = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, c + t * bytes)).mul(scaleAt(src, block + t * bytes));
                acc0 = value.fma(FloatVector.broadcast(F, scores[s0 + t]), acc0);
                acc1 = value.fma(FloatVector.broadcast(F, scores[s1 + t]), acc1);
            }
            acc0.intoArray(dst, d0 + i);
            acc1.intoArray(dst, d1 + i);
        }
    }

    /** Whether {@link #weighPairs} takes a side's values: 16 lanes (two vectors a 32-block) and heads of whole blocks. */
    private static boolean weighsInPairs(int source, int headDim) {
        return L == 16 && headDim % KvType.BLOCK == 0 && source != ROWS;
    }

    /**
     * {@link #weighRows} over F16, Q8_0 or Q4_0/TURBO4 ({@code table}) values read straight from the
     * cache, two vectors (a 32-block) per pass over the positions: a quantized block's scale and
     * bytes are read once per position for both vectors, and the four accumulators are independent.
     * Each value is widened (and scaled) as {@link #halves}, {@link #q8} and {@link #nibbles} decode it.
     */
    private static void weighPairs(int source, IntVector table, float[] scores, int s0, int s1, short[] h, byte[] src, int at, int bytes, int m,
            int headDim, float[] dst, int d0, int d1) {
        if (nibbles128(source, headDim, bytes)) {
            weighNibbles128(table, scores, s0, s1, src, at, m, dst, d0, d1);
            return;
        }
        int stride = source == HALVES ? headDim : bytes;
        int blockBytes = source == BYTES ? 2 + KvType.BLOCK : source == PLANES ? TURBO3_BLOCK : NIBBLE_BLOCK;
        IntVector pairShifts = IntVector.fromArray(Vec.I, PAIR_SHIFTS, 0), bitShifts = IntVector.fromArray(Vec.I, BIT_SHIFTS, 0);
        IntVector four = IntVector.broadcast(Vec.I, 4);
        for (int i = 0; i < headDim; i += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(F, dst, d0 + i), b0 = FloatVector.fromArray(F, dst, d0 + i + L);
            FloatVector a1 = FloatVector.fromArray(F, dst, d1 + i), b1 = FloatVector.fromArray(F, dst, d1 + i + L);
            for (int t = 0, row = at + (source == HALVES ? i : i / KvType.BLOCK * blockBytes); t < m; t++, row += stride) {
                FloatVector va, vb;
                if (source == HALVES) {
                    va = Vec.halfBits(ShortVector.fromArray(S, h, row));
                    vb = Vec.halfBits(ShortVector.fromArray(S, h, row + L));
                } else if (source == BYTES) {
                    float d = scaleAt(src, row);
                    va = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, row + 2)).mul(d);
                    vb = Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, row + 2 + L)).mul(d);
                } else if (source == PLANES) {
                    float d = scaleAt(src, row);
                    long pairs = (long) LONG_LE.get(src, row + 2);
                    int bits = (int) INT_LE.get(src, row + 10);
                    va = turbo3Values(table, pairShifts, bitShifts, four, (int) pairs, bits << 2, d);
                    vb = turbo3Values(table, pairShifts, bitShifts, four, (int) (pairs >>> 32), bits >>> 14, d);
                } else {
                    float d = scaleAt(src, row);
                    IntVector codes = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, row + 2));
                    va = codes.and(15).selectFrom(table).reinterpretAsFloats().mul(d);
                    vb = codes.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().mul(d);
                }
                FloatVector w0 = FloatVector.broadcast(F, scores[s0 + t]), w1 = FloatVector.broadcast(F, scores[s1 + t]);
                a0 = va.fma(w0, a0);
                b0 = vb.fma(w0, b0);
                a1 = va.fma(w1, a1);
                b1 = vb.fma(w1, b1);
            }
            a0.intoArray(dst, d0 + i);
            b0.intoArray(dst, d0 + i + L);
            a1.intoArray(dst, d1 + i);
            b1.intoArray(dst, d1 + i + L);
        }
    }

    /**
     * {@link #weighPairs} for Q4_0 and TURBO4 values in heads of 128, as {@link #keyNibbles128} is
     * for keys: a constant stride, and two blocks (eight accumulators, four vectors per query) per
     * pass over the positions, where the general loop took one block (four), each pass a chain of
     * dependent multiply-adds. All four blocks in one pass (sixteen accumulators) ran 1.8× slower
     * than the general loop: C2 compiled less of it. Each output lane still adds the positions in
     * order, so the bits are those of {@link #weighPairs}.
     */
    private static void weighNibbles128(IntVector table, float[] scores, int s0, int s1, byte[] src, int at, int m, float[] dst, int d0, int d1) {
        for (int half = 0; half < 2; half++) {
            int i = 2 * KvType.BLOCK * half, o = at + 2 * NIBBLE_BLOCK * half;
            FloatVector a0 = FloatVector.fromArray(F, dst, d0 + i), b0 = FloatVector.fromArray(F, dst, d0 + i + 16);
            FloatVector c0 = FloatVector.fromArray(F, dst, d0 + i + 32), e0 = FloatVector.fromArray(F, dst, d0 + i + 48);
            FloatVector a1 = FloatVector.fromArray(F, dst, d1 + i), b1 = FloatVector.fromArray(F, dst, d1 + i + 16);
            FloatVector c1 = FloatVector.fromArray(F, dst, d1 + i + 32), e1 = FloatVector.fromArray(F, dst, d1 + i + 48);
            for (int t = 0; t < m; t++) {
                int p = o + t * NIBBLE_HEAD;
                FloatVector w0 = FloatVector.broadcast(F, scores[s0 + t]), w1 = FloatVector.broadcast(F, scores[s1 + t]);
                IntVector scaled = table.reinterpretAsFloats().mul(scaleAt(src, p)).reinterpretAsInts();
                IntVector codes = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, p + 2));
                FloatVector va = codes.and(15).selectFrom(scaled).reinterpretAsFloats();
                FloatVector vb = codes.lanewise(VectorOperators.LSHR, 4).selectFrom(scaled).reinterpretAsFloats();
                a0 = va.fma(w0, a0);
                b0 = vb.fma(w0, b0);
                a1 = va.fma(w1, a1);
                b1 = vb.fma(w1, b1);
                IntVector scaled2 = table.reinterpretAsFloats().mul(scaleAt(src, p + NIBBLE_BLOCK)).reinterpretAsInts();
                IntVector codes2 = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, p + NIBBLE_BLOCK + 2));
                FloatVector vc = codes2.and(15).selectFrom(scaled2).reinterpretAsFloats();
                FloatVector ve = codes2.lanewise(VectorOperators.LSHR, 4).selectFrom(scaled2).reinterpretAsFloats();
                c0 = vc.fma(w0, c0);
                e0 = ve.fma(w0, e0);
                c1 = vc.fma(w1, c1);
                e1 = ve.fma(w1, e1);
            }
            a0.intoArray(dst, d0 + i);
            b0.intoArray(dst, d0 + i + 16);
            c0.intoArray(dst, d0 + i + 32);
            e0.intoArray(dst, d0 + i + 48);
            a1.intoArray(dst, d1 + i);
            b1.intoArray(dst, d1 + i + 16);
            c1.intoArray(dst, d1 + i + 32);
            e1.intoArray(dst, d1 + i + 48);
        }
    }

    /** Head vector number {@code vector} of one side of the cache, as stored (still rotated), into row[rowOff..+headDim). */
    private static void decode(KvType type, float[][] f, short[][] h, byte[][] q, int bytes, int layer, int vector, int headDim, float[] row,
            int rowOff) {
        if (type == null) {
            System.arraycopy(f[layer], vector * headDim, row, rowOff, headDim);
            return;
        }
        switch (type) {
            case F16 -> halves(h[layer], vector * headDim, headDim, row, rowOff);
            case Q8_0 -> q8(q[layer], vector * bytes, headDim, row, rowOff);
            case Q4_0 -> nibbles(Q4_0_VALUES, Q4_0_BITS, q[layer], vector * bytes, headDim, row, rowOff);
            case TURBO4 -> nibbles(TURBO4_VALUES, TURBO4_BITS, q[layer], vector * bytes, headDim, row, rowOff);
            case TURBO3 -> turbo3(q[layer], vector * bytes, headDim, row, rowOff);
        }
    }

    private static void halves(short[] h, int at, int n, float[] row, int rowOff) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) Vec.finiteHalfToFloat(ShortVector.fromArray(S, h, at + i)).intoArray(row, rowOff + i);
        for (; i < n; i++) row[rowOff + i] = Float.float16ToFloat(h[at + i]);
    }

    private static float scaleAt(byte[] src, int at) {
        return Float.float16ToFloat((short) SHORT_LE.get(src, at));
    }

    /** Q8_0 blocks: the int8s widened in vectors, times the block's scale: the same products as {@link KvType#decodeStored}. */
    private static void q8(byte[] src, int at, int headDim, float[] row, int rowOff) {
        for (int b0 = 0; b0 < headDim; b0 += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b0), b = rowOff + b0, j = 0, q = at + 2;
            float d = scaleAt(src, at);
            if (Vec.B != null) {
                for (; j + L <= n; j += L) Vec.bytesToFloat(ByteVector.fromArray(Vec.B, src, q + j)).mul(d).intoArray(row, b + j);
            }
            for (; j < n; j++) row[b + j] = src[q + j] * d;
            at += 2 + n;
        }
    }

    /** The values of Q4_0's nibbles (nibble − 8) and TURBO4's codebook, for a table lookup. */
    private static final float[] Q4_0_VALUES = new float[16], TURBO4_VALUES = KvType.TURBO4.codebook();
    /** The same as float bits in int lanes: an int vector's selectFrom compiles to one vpermd, where a float shuffle cast from int codes did not compile at all. */
    private static final int[] Q4_0_BITS = new int[16], TURBO4_BITS = new int[16], TURBO3_BITS = new int[16];
    private static final float[] TURBO3_VALUES = KvType.TURBO3.codebook();
    /** Bytes of a Q4_0/TURBO4 block (f16 d, 16 bytes of nibbles) and of a head of 128 in them. */
    private static final int NIBBLE_BLOCK = 2 + KvType.BLOCK / 2, NIBBLE_HEAD = 128 / KvType.BLOCK * NIBBLE_BLOCK;
    /** Bytes of a full TURBO3 block: f16 d, 8 bytes of low bit pairs, 4 of high bits. */
    private static final int TURBO3_BLOCK = 2 + KvType.BLOCK / 4 + KvType.BLOCK / 8;
    /** Lane j's shift into a block's 2-bit plane (as one little-endian int per 16 elements) and into its 1-bit plane. */
    private static final int[] PAIR_SHIFTS = new int[16], BIT_SHIFTS = new int[16];
    private static final java.lang.invoke.VarHandle LONG_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.invoke.VarHandle SHORT_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.invoke.VarHandle INT_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    static {
        for (int i = 0; i < 16; i++) {
            Q4_0_VALUES[i] = i - 8;
            Q4_0_BITS[i] = Float.floatToRawIntBits(Q4_0_VALUES[i]);
            TURBO4_BITS[i] = Float.floatToRawIntBits(TURBO4_VALUES[i]);
            TURBO3_BITS[i] = Float.floatToRawIntBits(TURBO3_VALUES[i % 8]);
            PAIR_SHIFTS[i] = 2 * i;
            BIT_SHIFTS[i] = i;
        }
    }

    /**
     * Q4_0 and TURBO4 blocks: with 16 float lanes, a whole block's 16 bytes are one vector, and each
     * nibble picks its value from the 16-entry table in one register; otherwise (and for a short last
     * block) scalar. Either way value = table[nibble]·d, the products of {@link KvType#decodeStored}.
     */
    private static void nibbles(float[] values, int[] bits, byte[] src, int at, int headDim, float[] row, int rowOff) {
        IntVector table = L == 16 ? IntVector.fromArray(Vec.I, bits, 0) : null;
        for (int b0 = 0; b0 < headDim; b0 += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b0), b = rowOff + b0, half = n / 2, q = at + 2;
            float d = scaleAt(src, at);
            if (L == 16 && half == 16) {
                IntVector codes = Vec.unsignedBytes(ByteVector.fromArray(Vec.B, src, q));
                codes.and(15).selectFrom(table).reinterpretAsFloats().mul(d).intoArray(row, b);
                codes.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().mul(d).intoArray(row, b + 16);
            } else {
                for (int j = 0; j < half; j++) {
                    row[b + j] = values[src[q + j] & 0xF] * d;
                    row[b + j + half] = values[(src[q + j] >> 4) & 0xF] * d;
                }
            }
            at += 2 + half;
        }
    }

    /**
     * The values of 16 TURBO3 elements, codebook[index]·d: lane j's index has its low two bits from
     * bits 2j of {@code pairs} and its high bit from bit j + 2 of {@code highBits} (so that it lands
     * on bit 2 with no shift back), put together by one blend; the bits above are left as they are,
     * because the lookup reads only the low four and {@link #TURBO3_BITS} repeats the eight values.
     */
    private static FloatVector turbo3Values(IntVector table, IntVector pairShifts, IntVector bitShifts, IntVector four, int pairs, int highBits,
            float d) {
        IntVector low = IntVector.broadcast(Vec.I, pairs).lanewise(VectorOperators.LSHR, pairShifts);
        IntVector high = IntVector.broadcast(Vec.I, highBits).lanewise(VectorOperators.LSHR, bitShifts);
        return low.lanewise(VectorOperators.BITWISE_BLEND, high, four).selectFrom(table).reinterpretAsFloats().mul(d);
    }

    /**
     * TURBO3 blocks ({@link KvType}'s two planes: element j's low two bits at bits 2j of the 8-byte
     * plane, its high bit at bit j of the 4-byte plane, both read little-endian): with 16 float lanes
     * a full block is two vectors of 16 indices, shifted out of the planes lane by lane and looked up
     * in the 8-entry codebook; a short last block, or narrower vectors, scalar. Either way value =
     * codebook[index]·d, the products of {@link KvType#decodeStored}.
     */
    private static void turbo3(byte[] src, int at, int headDim, float[] row, int rowOff) {
        IntVector table = L == 16 ? IntVector.fromArray(Vec.I, TURBO3_BITS, 0) : null;
        IntVector pairShifts = L == 16 ? IntVector.fromArray(Vec.I, PAIR_SHIFTS, 0) : null;
        IntVector bitShifts = L == 16 ? IntVector.fromArray(Vec.I, BIT_SHIFTS, 0) : null;
        IntVector four = L == 16 ? IntVector.broadcast(Vec.I, 4) : null;
        for (int b0 = 0; b0 < headDim; b0 += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b0), b = rowOff + b0, q = at + 2, high = q + (n + 3) / 4;
            float d = scaleAt(src, at);
            if (L == 16 && n == 32) {
                long pairs = (long) LONG_LE.get(src, q);
                int bits = (int) INT_LE.get(src, high);
                turbo3Values(table, pairShifts, bitShifts, four, (int) pairs, bits << 2, d).intoArray(row, b);
                turbo3Values(table, pairShifts, bitShifts, four, (int) (pairs >>> 32), bits >>> 14, d).intoArray(row, b + 16);
            } else {
                for (int j = 0; j < n; j++) {
                    int index = (src[q + j / 4] >> 2 * (j % 4)) & 3 | ((src[high + j / 8] >> j % 8) & 1) << 2;
                    row[b + j] = TURBO3_VALUES[index] * d;
                }
            }
            at += 2 + (n + 3) / 4 + (n + 7) / 8;
        }
    }
}
