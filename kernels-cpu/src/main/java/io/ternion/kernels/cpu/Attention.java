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

    /** One query (nHeads·headDim floats) over positions 0..positions−1 of {@code layer}; parallel over heads. */
    public static void attend(KvCache cache, int layer, float[] q, int qOff, int nHeads, int nKvHeads, int headDim,
            int positions, float[] out, int outOff, float scale, WorkerPool pool) {
        check(cache, nHeads, nKvHeads, headDim, positions);
        run(pool, nHeads, 2L * nHeads * headDim * positions, (from, to) -> {
            for (int h = from; h < to; h++) {
                head(cache, layer, q, qOff + h * headDim, h / (nHeads / nKvHeads), headDim, positions, out, outOff + h * headDim, scale);
            }
        });
    }

    /**
     * A batch of queries, token b at position startPos+b seeing positions 0..startPos+b, whose keys
     * and values (the batch's own included) are already stored; parallel over batch × heads.
     * Query and output of token b start at {@code b·nHeads·headDim}.
     */
    public static void attendBatch(KvCache cache, int layer, float[] q, int qOff, int batch, int startPos, int nHeads,
            int nKvHeads, int headDim, float[] out, int outOff, float scale, WorkerPool pool) {
        check(cache, nHeads, nKvHeads, headDim, startPos + batch);
        int qDim = nHeads * headDim;
        run(pool, batch * nHeads, 2L * batch * nHeads * headDim * (startPos + batch), (from, to) -> {
            for (int i = from; i < to; i++) {
                int b = i / nHeads, h = i % nHeads;
                head(cache, layer, q, qOff + b * qDim + h * headDim, h / (nHeads / nKvHeads), headDim, startPos + b + 1,
                        out, outOff + b * qDim + h * headDim, scale);
            }
        });
    }

    private static void check(KvCache cache, int nHeads, int nKvHeads, int headDim, int positions) {
        if (nKvHeads < 1 || nHeads % nKvHeads != 0) throw new IllegalArgumentException(nHeads + " heads cannot share " + nKvHeads + " KV heads");
        if (nKvHeads * headDim != cache.kvDim()) {
            throw new IllegalArgumentException(nKvHeads + " KV heads of " + headDim + " do not match the cache's kvDim " + cache.kvDim());
        }
        if (positions < 1 || positions > cache.contextLength()) {
            throw new IllegalArgumentException(positions + " positions outside the context of " + cache.contextLength());
        }
    }

    private static void head(KvCache cache, int layer, float[] q, int qOff, int kvHead, int headDim, int positions,
            float[] out, int outOff, float scale) {
        float[] scores = SCORES.get();
        if (scores.length < positions) SCORES.set(scores = new float[Math.max(positions, 2 * scores.length)]);
        int kvDim = cache.kvDim(), at = kvHead * headDim;
        if (cache.f16()) {
            short[] k = cache.kh[layer], v = cache.vh[layer];
            for (int t = 0; t < positions; t++) scores[t] = scale * dotHalf(q, qOff, k, t * kvDim + at, headDim);
            Ops.softmax(scores, 0, positions);
            Arrays.fill(out, outOff, outOff + headDim, 0f);
            for (int t = 0; t < positions; t++) axpyHalf(scores[t], v, t * kvDim + at, out, outOff, headDim);
        } else {
            float[] k = cache.kf[layer], v = cache.vf[layer];
            for (int t = 0; t < positions; t++) scores[t] = scale * Vec.dot(q, qOff, k, t * kvDim + at, headDim);
            Ops.softmax(scores, 0, positions);
            Arrays.fill(out, outOff, outOff + headDim, 0f);
            for (int t = 0; t < positions; t++) Vec.axpy(scores[t], v, t * kvDim + at, out, outOff, headDim);
        }
    }

    private static float dotHalf(float[] q, int qOff, short[] k, int kOff, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            acc = Vec.halfToFloat(ShortVector.fromArray(S, k, kOff + i)).fma(FloatVector.fromArray(F, q, qOff + i), acc);
        }
        float sum = Vec.sum(acc);
        for (; i < n; i++) sum += Float.float16ToFloat(k[kOff + i]) * q[qOff + i];
        return sum;
    }

    private static void axpyHalf(float a, short[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            Vec.halfToFloat(ShortVector.fromArray(S, x, xOff + i)).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * Float.float16ToFloat(x[xOff + i]);
    }
}
