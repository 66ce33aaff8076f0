package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.S;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * Causal multi-head attention over a {@link KvCache}, with grouped-query heads: query head h reads
 * KV head h / (nHeads / nKvHeads). Per head: scores = scale·q·k over the visible positions, a
 * max-subtracted softmax, then the score-weighted sum of the values.
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
}
