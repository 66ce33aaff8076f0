package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ternion.graph.KvRotation;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.conformance.Inputs;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Attention, which scores and weighs positions a vector's lanes at a time, against the plain
 * one-position-at-a-time loop it replaces (each key decoded by {@link KvType#decodeStored}, scored
 * with {@link Vec#dot}, softmax, each value added with {@link Vec#axpy}): the same operations in
 * the same order per lane, so the same bits. (The conformance rows check it against the double
 * reference within a tolerance; this catches an off-by-one lane or position that a tolerance could
 * hide, e.g. a permuted block of near-uniform scores.)
 */
class AttentionTest {
    /** Up to 256 positions a head is one part (no flash-decoding merge), so the plain loop is exact. */
    @ParameterizedTest
    @EnumSource(KvType.class)
    void givesTheBitsOfScoringOnePositionAtATime(KvType type) {
        for (int[] shape : new int[][] {{8, 2}, {6, 3}, {3, 3}}) {
            for (int headDim : new int[] {128, 80, 8}) {
                for (int positions : new int[] {1, Vec.L - 1, Vec.L + 1, 200}) check(type, shape[0], shape[1], headDim, positions);
            }
        }
    }

    /**
     * F16 keys and values are widened without their factor 2^112, which the queries and the weights
     * carry instead: the same bits with subnormal halves (keys and values of 1e-5 and less), and a
     * query too large to carry it (components past 2^15) scores the keys decoded into rows.
     */
    @Test
    void f16TakesSubnormalHalvesAndHugeQueries() {
        for (float queryScale : new float[] {3, 1e5f}) {
            for (int headDim : new int[] {128, 80}) check(KvType.F16, 8, 2, headDim, 200, queryScale, 1e-5f);
        }
    }

    private static void check(KvType type, int heads, int kvHeads, int headDim, int positions) {
        check(type, heads, kvHeads, headDim, positions, 3, 1);
    }

    /** As above, queries times {@code queryScale}, every third key and value times {@code tiny}. */
    private static void check(KvType type, int heads, int kvHeads, int headDim, int positions, float queryScale, float tiny) {
        String what = type + " " + heads + "/" + kvHeads + " heads of " + headDim + " over " + positions + ", queries ×" + queryScale
                + ", tiny ×" + tiny;
        SplittableRandom rnd = Inputs.random(what);
        int kvDim = kvHeads * headDim, group = heads / kvHeads;
        KvCache cache = new KvCache(1, 1, positions, kvHeads, headDim, new KvTypes(type, type));
        float[][] keys = new float[positions][], values = new float[positions][];
        float[] mean = new float[kvDim];
        for (int t = 0; t < positions; t++) {
            float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
            if (t % 3 == 1) for (int i = 0; i < kvDim; i++) { k[i] *= tiny; v[i] *= tiny; }
            cache.store(0, 0, t, k, 0, v, 0);
            // Quantized keys are stored less the slot's first key (softmax ignores the constant q·μ).
            if (type.centresKeys() && t == 0) mean = k.clone();
            float[] centred = k.clone();
            if (type.centresKeys()) for (int i = 0; i < kvDim; i++) centred[i] = k[i] - mean[i];
            keys[t] = stored(type, centred, headDim);
            values[t] = stored(type, v, headDim);
        }
        float[] q = Inputs.floats(rnd, heads * headDim);
        for (int i = 0; i < q.length; i++) q[i] *= queryScale;
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] got = new float[heads * headDim];
        Attention.attend(cache, 0, q, 0, heads, kvHeads, headDim, positions, got, 0, scale, TestPools.THREE);

        float[] want = new float[heads * headDim], scores = new float[positions];
        for (int h = 0; h < heads; h++) {
            float[] query = Arrays.copyOfRange(q, h * headDim, (h + 1) * headDim);
            if (type.rotated()) KvRotation.forward(query, 0, headDim);
            int kv = h / group * headDim;
            for (int t = 0; t < positions; t++) scores[t] = scale * Vec.dot(query, 0, keys[t], kv, headDim);
            Ops.softmax(scores, 0, positions);
            for (int t = 0; t < positions; t++) Vec.axpy(scores[t], values[t], kv, want, h * headDim, headDim);
            if (type.rotated()) KvRotation.inverse(want, h * headDim, headDim);
        }
        assertArrayEquals(want, got, what);
    }

    /** Each head vector as the cache holds it (rotated types still rotated). */
    private static float[] stored(KvType type, float[] x, int headDim) {
        float[] out = new float[x.length];
        byte[] bytes = new byte[type.bytesPerHead(headDim)];
        for (int h = 0; h < x.length / headDim; h++) {
            type.encode(x, h * headDim, headDim, bytes, 0);
            type.decodeStored(bytes, 0, headDim, out, h * headDim);
        }
        return out;
    }

    /**
     * A prompt's batch of rows, whose tasks share each decoded block of keys and values among up to
     * 32 rows of a slot, gives every row the bits of attending it alone (one row over at most 256
     * positions is one part, as each row of a batch is): two slots whose rows are interleaved in
     * runs, one row alone, heads of 128 (the kernels that keep two queries in registers) and of 80.
     */
    @ParameterizedTest
    @EnumSource(KvType.class)
    void batchRowsGiveEachRowsBitsAlone(KvType type) {
        for (int headDim : new int[] {128, 80}) {
            for (int[] shape : new int[][] {{8, 2}, {3, 1}}) {
                int heads = shape[0], kvHeads = shape[1], kvDim = kvHeads * headDim, qDim = heads * headDim, context = 200;
                String what = type + " " + heads + "/" + kvHeads + " heads of " + headDim;
                SplittableRandom rnd = Inputs.random(what);
                KvCache cache = new KvCache(1, 2, context, kvHeads, headDim, new KvTypes(type, type));
                for (int slot = 0; slot < 2; slot++) {
                    for (int t = 0; t < context; t++) cache.store(0, slot, t, Inputs.floats(rnd, kvDim), 0, Inputs.floats(rnd, kvDim), 0);
                }
                // 91 rows: slot 0 at 110..169, then slot 1 at 0..19 (shorter than a block), slot 0 again at 190..199, and
                // slot 1 at 25 alone (a decode step beside a prompt).
                int rows = 91;
                int[] positions = new int[rows], slots = new int[rows];
                for (int b = 0; b < rows; b++) {
                    slots[b] = b >= 60 && b < 80 || b == 90 ? 1 : 0;
                    positions[b] = b < 60 ? 110 + b : b < 80 ? b - 60 : b < 90 ? 110 + b : 25;
                }
                float[] q = Inputs.floats(rnd, rows * qDim), got = new float[rows * qDim], want = new float[rows * qDim];
                for (int i = 0; i < q.length; i++) q[i] *= 3;
                float scale = (float) (1 / Math.sqrt(headDim));
                Attention.attendRows(cache, 0, q, 0, rows, positions, slots, heads, kvHeads, headDim, got, 0, scale, TestPools.THREE);
                for (int b = 0; b < rows; b++) {
                    Attention.attendRows(cache, 0, q, b * qDim, 1, new int[] {positions[b]}, new int[] {slots[b]}, heads, kvHeads, headDim, want,
                            b * qDim, scale, TestPools.ONE);
                }
                assertArrayEquals(want, got, what);
            }
        }
    }

    /** The folding sum of L accumulators gives lane t the sum of accumulator t as Vec.sum adds it, for full and short blocks. */
    @Test
    void sumsAcrossLanesAsVecSumDoes() {
        int l = Vec.L;
        SplittableRandom rnd = Inputs.random("sumAcross");
        for (int m : new int[] {l, 1, l - 1}) {
            float[] lanes = new float[3 + l * l], accumulators = new float[l * l];
            for (int i = 0; i < accumulators.length; i++) accumulators[i] = (float) (rnd.nextDouble() * 2 - 1) * (1 << rnd.nextInt(20));
            System.arraycopy(accumulators, 0, lanes, 3, accumulators.length);
            float[] scores = new float[2 + l];
            // A head of L values: no tail past the vectors, so the scores are the sums times scale.
            Attention.sumAcross(lanes, 3, new float[l * l], new float[l], 0, m, l, 0.5f, scores, 2);
            for (int t = 0; t < m; t++) {
                float want = 0.5f * Vec.sum(FloatVector.fromArray(Vec.F, accumulators, t * l));
                assertEquals(want, scores[2 + t], "position " + t + " of " + m);
            }
        }
    }
}
