package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.Inputs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link MatMul#prepare} gives an F16 tensor the fast {@link F16MatMul.Finite} kernel only when
 * {@link F16MatMul#allFinite} finds no half of exponent 31; both kinds of tensor then compute what
 * the scalar {@link Float#float16ToFloat} reference computes, ±∞ and NaN included. The halves are
 * drawn from every finite pattern (zeros, subnormals, the largest normals), not only what a
 * quantizer writes.
 */
class F16KernelChoiceTest {
    private static final short PLUS_INFINITY = 0x7c00, MINUS_INFINITY = (short) 0xfc00, QUIET_NAN = 0x7e00,
            SIGNALING_NAN = 0x7c01, NEGATIVE_NAN = (short) 0xfe01;

    @Test
    void aTensorOfFiniteHalvesGetsTheFastKernelAndTheReferenceResult() {
        int k = 67, n = 40;
        short[] halves = finiteHalves(Inputs.random("finite"), k * n);
        for (WorkerPool pool : TestPools.BOTH) {
            Weights w = MatMul.prepare(tensor(halves, k, n), pool);
            assertInstanceOf(F16MatMul.Finite.class, w.kernel);
            assertMatchesReference(w, halves, k, n, pool);
        }
    }

    /**
     * One non-finite half per row, at places that fall in the vector body, the vector tail and the
     * scalar tail of both the scan and the kernel: the exact kernel is kept and gives ∞ and NaN where
     * the reference does. The fast kernel on the same tensor gives finite rows wherever it reads the
     * special half with vectors (it takes exponent 31 for 2¹⁶ to 2¹⁷), so this fails if
     * {@link MatMul#prepare} skips the check.
     */
    @Test
    void aTensorWithInfinitiesOrNaNsKeepsTheExactKernel() {
        int k = 67, n = 40;
        short[] halves = finiteHalves(Inputs.random("special"), k * n);
        short[] specials = {PLUS_INFINITY, MINUS_INFINITY, QUIET_NAN, SIGNALING_NAN, NEGATIVE_NAN};
        int[] places = {0, 1, 31, 32, 33, 63, 64, 66};
        for (int r = 0; r < n; r++) halves[r * k + places[r % places.length]] = specials[r % specials.length];
        Tensor t = tensor(halves, k, n);
        for (WorkerPool pool : TestPools.BOTH) {
            Weights w = MatMul.prepare(t, pool);
            assertFalse(w.kernel instanceof F16MatMul.Finite, "a tensor with ∞/NaN got the finite-only kernel");
            assertMatchesReference(w, halves, k, n, pool);
        }
        float[] x = positive(k), y = new float[n];
        new F16MatMul.Finite().dot(t.data(), k, 0, n, x, 0, y, 0);
        int vectorPart = Vec.F.loopBound(k), caught = 0; // the scalar tail converts exactly in either kernel
        for (int r = 0; r < n; r++) {
            if (places[r % places.length] >= vectorPart) continue;
            assertTrue(Float.isFinite(y[r]), "row " + r + ": the test data would not catch a skipped check");
            caught++;
        }
        assertTrue(caught > n / 2, caught + " rows");
    }

    /** A single non-finite half anywhere, in a tensor of several scan chunks, is found by any number of threads. */
    @Test
    void theScanFindsOneSpecialHalfWhereverItIs() {
        int k = 1024, n = 1100; // 1.1M halves: three chunks of the pool's scan, the last one short
        short[] halves = finiteHalves(Inputs.random("scan"), k * n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate(2L * halves.length, 64);
            MemorySegment.copy(halves, 0, data, Numbers.SHORT, 0, halves.length);
            Tensor t = new Tensor("w", GgmlType.F16, new long[] {k, n}, data);
            for (WorkerPool pool : TestPools.BOTH) assertTrue(F16MatMul.allFinite(t, pool));
            for (long at : new long[] {0, 5, 31, 32, 1 << 19, (1 << 20) + 3, (long) k * n - 33, (long) k * n - 1}) {
                for (short special : new short[] {PLUS_INFINITY, NEGATIVE_NAN}) {
                    short before = data.get(Numbers.SHORT, 2 * at);
                    data.set(Numbers.SHORT, 2 * at, special);
                    for (WorkerPool pool : TestPools.BOTH) assertFalse(F16MatMul.allFinite(t, pool), "half " + at);
                    data.set(Numbers.SHORT, 2 * at, before);
                }
            }
            // A range that starts and ends off the vector grid still sees its first and last half.
            data.set(Numbers.SHORT, 2 * 3, PLUS_INFINITY);
            assertFalse(F16MatMul.allFinite(data, 6, 2 * 40));
            assertTrue(F16MatMul.allFinite(data, 8, 2 * 40));
        }
    }

    private static void assertMatchesReference(Weights w, short[] halves, int k, int n, WorkerPool pool) {
        for (float[] x : new float[][] {positive(k), signed(k)}) {
            float[] y = new float[n];
            MatMul.matmul(w, x, 0, 1, y, 0, pool);
            for (int r = 0; r < n; r++) {
                double want = 0, scale = 0;
                for (int j = 0; j < k; j++) {
                    double p = (double) Float.float16ToFloat(halves[r * k + j]) * x[j];
                    want += p;
                    scale += Math.abs(p);
                }
                String what = "row " + r + " of " + w + " against x " + (x[0] > 0 ? "positive" : "signed");
                if (Double.isNaN(want)) assertTrue(Float.isNaN(y[r]), what + ": " + y[r]);
                else if (Double.isInfinite(want)) assertEquals((float) want, y[r], what);
                else assertEquals(want, y[r], 1e-6 * scale, what);
            }
        }
    }

    /** Random finite halves, with ±0, subnormals and ±65504 in every row's first elements. */
    private static short[] finiteHalves(SplittableRandom rnd, int count) {
        short[] h = new short[count];
        for (int i = 0; i < count; i++) {
            int bits;
            do bits = rnd.nextInt(1 << 16); while ((bits & 0x7c00) == 0x7c00);
            h[i] = (short) bits;
        }
        short[] edges = {0, (short) 0x8000, 0x0001, (short) 0x83ff, 0x7bff, (short) 0xfbff};
        System.arraycopy(edges, 0, h, 0, Math.min(edges.length, count));
        return h;
    }

    private static Tensor tensor(short[] halves, int k, int n) {
        MemorySegment data = MemorySegment.ofArray(new byte[2 * halves.length]);
        MemorySegment.copy(halves, 0, data, Numbers.SHORT, 0, halves.length);
        return new Tensor("w", GgmlType.F16, new long[] {k, n}, data);
    }

    /** Positive inputs, so a row with one infinity sums to that infinity. */
    private static float[] positive(int k) {
        float[] x = new float[k];
        for (int j = 0; j < k; j++) x[j] = 0.5f + (j % 7) / 8f;
        return x;
    }

    private static float[] signed(int k) {
        float[] x = new float[k];
        SplittableRandom rnd = Inputs.random("x", k);
        for (int j = 0; j < k; j++) x[j] = (float) rnd.nextGaussian();
        assertNotEquals(0, x[0]);
        return x;
    }
}
