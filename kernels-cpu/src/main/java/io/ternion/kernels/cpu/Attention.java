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
 * <p>Over an F16 or float cache, when each row's heads are work enough for the threads, every pair
 * of query heads is one task over all its positions ({@link #heads}). Otherwise (a quantized cache,
 * or a decode step at depth, where a few KV heads would leave threads idle) the positions of each
 * KV head are cut into {@link #parts} (flash-decoding): a task scores all the query heads of one KV
 * head over one part, each key and value decoded once from the cache's own bytes into one
 * head-sized row for all of them ({@link #part}); the parts' softmaxes are then merged through
 * their maxima and sums. How a head is cut depends on the shapes only, never on the thread count,
 * so any number of threads gives the same bits. A rotated key type scores the rotated query; a
 * rotated value type turns the output back ({@link KvRotation}).
 */
public final class Attention {
    private Attention() {}

    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);
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

    /** {@code g} (1 or 2) consecutive query heads on one KV head; their queries and outputs are adjacent. */
    private static void heads(KvCache cache, int layer, int slot, float[] q, int qOff, int g, int kvHead, int headDim, int positions,
            float[] out, int outOff, float scale) {
        if (g == 1 || !cache.f16()) {
            for (int i = 0; i < g; i++) {
                head(cache, layer, slot, q, qOff + i * headDim, kvHead, headDim, positions, out, outOff + i * headDim, scale);
            }
            return;
        }
        float[] scores = SCORES.get();
        if (scores.length < 2 * positions) SCORES.set(scores = new float[Math.max(2 * positions, 2 * scores.length)]);
        int at = cache.at(slot, kvHead, 0), q1 = qOff + headDim, out1 = outOff + headDim;
        short[] k = cache.kh[layer], v = cache.vh[layer];
        for (int t = 0; t < positions; t++) dotHalf2(q, qOff, q1, k, at + t * headDim, headDim, scale, scores, t, positions + t);
        Ops.softmax(scores, 0, positions);
        Ops.softmax(scores, positions, positions);
        Arrays.fill(out, outOff, outOff + 2 * headDim, 0f);
        for (int t = 0; t < positions; t++) axpyHalf2(scores[t], scores[positions + t], v, at + t * headDim, out, outOff, out1, headDim);
    }

    private static void head(KvCache cache, int layer, int slot, float[] q, int qOff, int kvHead, int headDim, int positions,
            float[] out, int outOff, float scale) {
        float[] scores = SCORES.get();
        if (scores.length < positions) SCORES.set(scores = new float[Math.max(positions, 2 * scores.length)]);
        int at = cache.at(slot, kvHead, 0);
        if (cache.f16()) {
            short[] k = cache.kh[layer], v = cache.vh[layer];
            for (int t = 0; t < positions; t++) scores[t] = scale * dotHalf(q, qOff, k, at + t * headDim, headDim);
            Ops.softmax(scores, 0, positions);
            Arrays.fill(out, outOff, outOff + headDim, 0f);
            for (int t = 0; t < positions; t++) axpyHalf(scores[t], v, at + t * headDim, out, outOff, headDim);
        } else {
            float[] k = cache.kf[layer], v = cache.vf[layer];
            for (int t = 0; t < positions; t++) scores[t] = scale * Vec.dot(q, qOff, k, at + t * headDim, headDim);
            Ops.softmax(scores, 0, positions);
            Arrays.fill(out, outOff, outOff + headDim, 0f);
            for (int t = 0; t < positions; t++) Vec.axpy(scores[t], v, at + t * headDim, out, outOff, headDim);
        }
    }

    private static float dotHalf(float[] q, int qOff, short[] k, int kOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            acc = Vec.finiteHalfToFloat(ShortVector.fromArray(S, k, kOff + i)).fma(FloatVector.fromArray(F, q, qOff + i), acc);
        }
        float sum = Vec.sum(acc);
        for (; i < n; i++) sum += Float.float16ToFloat(k[kOff + i]) * q[qOff + i];
        return sum;
    }

    /** {@link #dotHalf} for two queries on one key, each scaled into {@code s[s0]}, {@code s[s1]}: the same operations per query. */
    private static void dotHalf2(float[] q, int q0, int q1, short[] k, int kOff, int n, float scale, float[] s, int s0, int s1) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector kf = Vec.finiteHalfToFloat(ShortVector.fromArray(S, k, kOff + i));
            acc0 = kf.fma(FloatVector.fromArray(F, q, q0 + i), acc0);
            acc1 = kf.fma(FloatVector.fromArray(F, q, q1 + i), acc1);
        }
        float sum0 = Vec.sum(acc0), sum1 = Vec.sum(acc1);
        for (; i < n; i++) {
            float kf = Float.float16ToFloat(k[kOff + i]);
            sum0 += kf * q[q0 + i];
            sum1 += kf * q[q1 + i];
        }
        s[s0] = scale * sum0;
        s[s1] = scale * sum1;
    }

    /** {@link #axpyHalf} of one value into two outputs with their own weights. */
    private static void axpyHalf2(float a0, float a1, short[] x, int xOff, float[] y, int y0, int y1, int n) {
        FloatVector va0 = FloatVector.broadcast(F, a0), va1 = FloatVector.broadcast(F, a1);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector xf = Vec.finiteHalfToFloat(ShortVector.fromArray(S, x, xOff + i));
            xf.fma(va0, FloatVector.fromArray(F, y, y0 + i)).intoArray(y, y0 + i);
            xf.fma(va1, FloatVector.fromArray(F, y, y1 + i)).intoArray(y, y1 + i);
        }
        for (; i < n; i++) {
            float xf = Float.float16ToFloat(x[xOff + i]);
            y[y0 + i] += a0 * xf;
            y[y1 + i] += a1 * xf;
        }
    }

    private static void axpyHalf(float a, short[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            Vec.finiteHalfToFloat(ShortVector.fromArray(S, x, xOff + i)).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * Float.float16ToFloat(x[xOff + i]);
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

    /** Per thread: the group's queries, its scores over a part, one decoded key or value. */
    private static final class Scratch {
        float[] queries = new float[0], scores = new float[0], row = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static void split(KvCache cache, int layer, float[] q, int qOff, int rows, int[] positions, int[] slots, int nHeads,
            int nKvHeads, int headDim, float[] out, int outOff, float scale, WorkerPool pool, int parts, long seen) {
        int group = nHeads / nKvHeads, qDim = nHeads * headDim, stride = headDim + 2;
        boolean rotatedValues = cache.valueType() != null && cache.valueType().rotated();
        // One part writes the output itself; several write partial outputs with their softmax's max and sum, merged below.
        float[] partial = parts == 1 ? null : new float[rows * nKvHeads * parts * group * stride];
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
     * The {@code group} query heads at q[qOff..] (one after the other) on KV head {@code kvHead}
     * over positions t0..t1−1: each head's softmax-weighted values (normalized over this part) into
     * dst at {@code dstOff + j·dstStride}; with {@code stats}, the softmax's max and sum after them.
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
        if (scratch.row.length < headDim) scratch.row = new float[headDim];
        float[] qs = scratch.queries, scores = scratch.scores, row = scratch.row;
        System.arraycopy(q, qOff, qs, 0, group * headDim);
        KvType kType = cache.keyType(), vType = cache.valueType();
        if (kType != null && kType.rotated()) for (int j = 0; j < group; j++) KvRotation.forward(qs, j * headDim, headDim);
        int first = cache.at(slot, kvHead, t0) / headDim;
        for (int t = 0; t < n; t++) {
            decode(kType, cache.kf, cache.kh, cache.kq, cache.kBytes, layer, first + t, headDim, row);
            for (int j = 0; j < group; j++) scores[j * n + t] = scale * Vec.dot(qs, j * headDim, row, 0, headDim);
        }
        for (int j = 0; j < group; j++) Ops.softmax(scores, j * n, n, stats, dstOff + j * dstStride + headDim);
        for (int t = 0; t < n; t++) {
            decode(vType, cache.vf, cache.vh, cache.vq, cache.vBytes, layer, first + t, headDim, row);
            for (int j = 0; j < group; j++) Vec.axpy(scores[j * n + t], row, 0, dst, dstOff + j * dstStride, headDim);
        }
    }

    /** Head vector number {@code vector} of one side of the cache, as stored (still rotated), into row[0..headDim). */
    private static void decode(KvType type, float[][] f, short[][] h, byte[][] q, int bytes, int layer, int vector, int headDim, float[] row) {
        if (type == null) {
            System.arraycopy(f[layer], vector * headDim, row, 0, headDim);
            return;
        }
        switch (type) {
            case F16 -> halves(h[layer], vector * headDim, headDim, row);
            case Q8_0 -> q8(q[layer], vector * bytes, headDim, row);
            case Q4_0 -> nibbles(Q4_0_VALUES, Q4_0_BITS, q[layer], vector * bytes, headDim, row);
            case TURBO4 -> nibbles(TURBO4_VALUES, TURBO4_BITS, q[layer], vector * bytes, headDim, row);
            case TURBO3 -> turbo3(q[layer], vector * bytes, headDim, row);
        }
    }

    private static void halves(short[] h, int at, int n, float[] row) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) Vec.finiteHalfToFloat(ShortVector.fromArray(S, h, at + i)).intoArray(row, i);
        for (; i < n; i++) row[i] = Float.float16ToFloat(h[at + i]);
    }

    private static float scaleAt(byte[] src, int at) {
        return Float.float16ToFloat((short) ((src[at] & 0xFF) | src[at + 1] << 8));
    }

    /** Q8_0 blocks: the int8s widened in vectors, times the block's scale: the same products as {@link KvType#decodeStored}. */
    private static void q8(byte[] src, int at, int headDim, float[] row) {
        for (int b = 0; b < headDim; b += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b), j = 0, q = at + 2;
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
    /** Lane j's shift into a block's 2-bit plane (as one little-endian int per 16 elements) and into its 1-bit plane. */
    private static final int[] PAIR_SHIFTS = new int[16], BIT_SHIFTS = new int[16];
    private static final java.lang.invoke.VarHandle LONG_LE =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
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
    private static void nibbles(float[] values, int[] bits, byte[] src, int at, int headDim, float[] row) {
        IntVector table = L == 16 ? IntVector.fromArray(Vec.I, bits, 0) : null;
        for (int b = 0; b < headDim; b += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b), half = n / 2, q = at + 2;
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
     * TURBO3 blocks ({@link KvType}'s two planes: element j's low two bits at bits 2j of the 8-byte
     * plane, its high bit at bit j of the 4-byte plane, both read little-endian): with 16 float lanes
     * a full block is two vectors of 16 indices, shifted out of the planes lane by lane and looked up
     * in the 8-entry codebook; a short last block, or narrower vectors, scalar. Either way value =
     * codebook[index]·d, the products of {@link KvType#decodeStored}.
     */
    private static void turbo3(byte[] src, int at, int headDim, float[] row) {
        IntVector table = L == 16 ? IntVector.fromArray(Vec.I, TURBO3_BITS, 0) : null;
        IntVector pairShifts = L == 16 ? IntVector.fromArray(Vec.I, PAIR_SHIFTS, 0) : null;
        IntVector bitShifts = L == 16 ? IntVector.fromArray(Vec.I, BIT_SHIFTS, 0) : null;
        for (int b = 0; b < headDim; b += KvType.BLOCK) {
            int n = Math.min(KvType.BLOCK, headDim - b), q = at + 2, high = q + (n + 3) / 4;
            float d = scaleAt(src, at);
            if (L == 16 && n == 32) {
                long pairs = (long) LONG_LE.get(src, q);
                int bits = (int) INT_LE.get(src, high);
                for (int half = 0; half < 2; half++) {
                    IntVector lo = IntVector.broadcast(Vec.I, (int) (pairs >>> 32 * half)).lanewise(VectorOperators.LSHR, pairShifts).and(3);
                    IntVector hi = IntVector.broadcast(Vec.I, bits >>> 16 * half).lanewise(VectorOperators.LSHR, bitShifts).and(1);
                    lo.or(hi.lanewise(VectorOperators.LSHL, 2)).selectFrom(table).reinterpretAsFloats().mul(d).intoArray(row, b + 16 * half);
                }
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
