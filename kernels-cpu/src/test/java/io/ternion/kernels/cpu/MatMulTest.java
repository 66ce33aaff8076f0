package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.Inputs;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** What the conformance table does not cover: types without a kernel, bad arguments, shared-input matmuls. */
class MatMulTest {

    @Test
    void everyTypeTheReaderKnowsHasAKernel() {
        // Since the ternary and binary kernels, none is left without one; the registry's error path
        // (UnsupportedOperationException naming the type) has nothing to be exercised with.
        for (GgmlType t : GgmlType.values()) assertTrue(MatMul.supports(t), t + " has no kernel");
        Tensor w = new Tensor("w", GgmlType.TQ2_0, new long[] {256, 2}, MemorySegment.ofArray(new byte[2 * 66]));
        MatMul.getRow(w, 1, new float[256], 0);
    }

    /**
     * The packed formats run as compiled vector code only with 512-bit vectors, the others always.
     * The module's build also runs this class with vectors capped at 256 bits, and says so in
     * {@code ternion.test.maxVectorBits}: there the packed formats must report that they do not.
     */
    @Test
    void packedFormatsRunNativelyOnlyWith512BitVectors() {
        int bits = Math.min(ShortVector.SPECIES_PREFERRED.vectorBitSize(), FloatVector.SPECIES_PREFERRED.vectorBitSize());
        Integer cap = Integer.getInteger("ternion.test.maxVectorBits");
        if (cap != null) assertTrue(bits <= cap, "vectors of " + bits + " bits in a run capped at " + cap);
        for (GgmlType t : GgmlType.values()) {
            boolean packed = t == GgmlType.I2_S || t == GgmlType.TQ1_0 || t == GgmlType.TQ2_0 || t == GgmlType.Q1_0
                    || t == GgmlType.Q2_0 || t == GgmlType.Q2_0_128;
            assertEquals(!packed || bits >= 512, MatMul.runsNatively(t), t + " with " + bits + "-bit vectors");
        }
    }

    @Test
    void shortArraysAreRejected() {
        Tensor w = Tensor.quantize("w", GgmlType.F32, new long[] {4, 3}, new float[12]);
        try (WorkerPool pool = new WorkerPool(1)) {
            assertThrows(IndexOutOfBoundsException.class, () -> MatMul.matmul(w, new float[7], 0, 2, new float[6], 0, pool));
            assertThrows(IndexOutOfBoundsException.class, () -> MatMul.matmul(w, new float[8], 0, 2, new float[6], 1, pool));
            assertThrows(IndexOutOfBoundsException.class, () -> MatMul.getRow(w, 3, new float[4], 0));
        }
    }

    /**
     * A batch's matmul gives each output the bits of Vec.dot of the decoded row and the vector,
     * whether it falls in a 4×4 block or at a tile's edge, so no cut of rows or vectors changes a
     * result. Inputs of mixed magnitudes, so that another order of the lanes' sum rounds differently.
     */
    @Test
    void batchOutputsAreEachRowsDotProduct() {
        int k = 3 * Vec.L + 5, n = 10, batch = 9;
        Tensor w = Inputs.weights(Inputs.random("rows", n), GgmlType.F32, k, n, Inputs.Placement.NATIVE_ALIGNED);
        var rnd = Inputs.random("x", batch);
        float[] x = new float[batch * k];
        for (int j = 0; j < x.length; j++) x[j] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
        float[] y = new float[batch * n];
        try (WorkerPool pool = new WorkerPool(1)) {
            MatMul.matmul(MatMul.prepare(w, pool), x, 0, batch, y, 0, pool);
        }
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            w.dequantizeRow(r, row, 0);
            for (int b = 0; b < batch; b++) {
                assertEquals(Float.floatToRawIntBits(Vec.dot(row, 0, x, b * k, k)), Float.floatToRawIntBits(y[b * n + r]), "row " + r + ", vector " + b);
            }
        }
    }

    /**
     * q, k and v (or gate and up) through {@link MatMul#matmuls}: one quantization of the input and
     * one parallelFor over all three matrices' stripes give each matrix exactly what its own matmul
     * gives, for a token and for a prompt longer than one quantization group, on 1 and 3 threads.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"I2_S", "TQ2_0", "TQ1_0", "Q1_0", "Q2_0", "Q2_0_128"})
    void sharedInputMatmulsEqualSeparateOnes(GgmlType type) {
        int k = 512;
        int[] ns = {300, 64, 130};
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                Weights[] ws = new Weights[ns.length];
                for (int i = 0; i < ns.length; i++) {
                    ws[i] = MatMul.prepare(Inputs.weights(Inputs.random("shared", type, i), type, k, ns[i], Inputs.Placement.NATIVE_ALIGNED), pool);
                    assertTrue(MatMul.sharesInput(ws[0], ws[i]));
                }
                for (int batch : new int[] {1, 20}) {
                    float[] x = new float[batch * k];
                    var rnd = Inputs.random("x", batch);
                    for (int j = 0; j < x.length; j++) x[j] = (float) rnd.nextGaussian();
                    float[][] ys = new float[ns.length][];
                    for (int i = 0; i < ns.length; i++) ys[i] = new float[batch * ns[i]];
                    MatMul.matmuls(ws, x, 0, batch, ys, pool);
                    for (int i = 0; i < ns.length; i++) {
                        float[] alone = new float[batch * ns[i]];
                        MatMul.matmul(ws[i], x, 0, batch, alone, 0, pool);
                        assertArrayEquals(alone, ys[i], type + " matrix " + i + ", batch " + batch + ", " + threads + " threads");
                    }
                }
            }
        }
    }

    @Test
    void matricesOfOtherFormatsOrWidthsDoNotShareAnInput() {
        try (WorkerPool pool = new WorkerPool(1)) {
            Weights q1 = MatMul.prepare(Inputs.weights(Inputs.random("a"), GgmlType.Q1_0, 256, 8, Inputs.Placement.HEAP), pool);
            Weights tq = MatMul.prepare(Inputs.weights(Inputs.random("b"), GgmlType.TQ2_0, 256, 8, Inputs.Placement.HEAP), pool);
            Weights wide = MatMul.prepare(Inputs.weights(Inputs.random("c"), GgmlType.Q1_0, 512, 8, Inputs.Placement.HEAP), pool);
            Weights f16 = MatMul.prepare(Inputs.weights(Inputs.random("d"), GgmlType.F16, 256, 8, Inputs.Placement.HEAP), pool);
            assertFalse(MatMul.sharesInput(q1, tq));
            assertFalse(MatMul.sharesInput(q1, wide));
            assertFalse(MatMul.sharesInput(f16, f16));
            // Such a mix still multiplies, one matrix at a time.
            float[] x = new float[256];
            x[3] = 1;
            float[][] ys = {new float[8], new float[8]};
            MatMul.matmuls(new Weights[] {q1, f16}, x, 0, 1, ys, pool);
            float[] alone = new float[8];
            MatMul.matmul(q1, x, 0, 1, alone, 0, pool);
            assertArrayEquals(alone, ys[0]);
            MatMul.matmul(f16, x, 0, 1, alone, 0, pool);
            assertArrayEquals(alone, ys[1]);
        }
    }
}
