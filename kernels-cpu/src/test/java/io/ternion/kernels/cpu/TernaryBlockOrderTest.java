package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.Inputs;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TQ2_0 and TQ1_0 give llama.cpp's sums bit for bit: {@code sumf += (float) sumi · (d_y · d_x)}
 * block after block, with the exact integer sumi of each block. That holds on both of the kernel's
 * paths: per-row scales read with the codes, and the one scale a converted BitNet model has in every
 * block (the scales are then dropped). A tensor with one zero block (scale 0) keeps the per-row path.
 */
class TernaryBlockOrderTest {
    enum Scales { ONE, PER_BLOCK, ONE_WITH_A_ZERO_BLOCK }

    @ParameterizedTest
    @CsvSource({"TQ2_0, ONE", "TQ2_0, PER_BLOCK", "TQ2_0, ONE_WITH_A_ZERO_BLOCK", "TQ1_0, ONE", "TQ1_0, PER_BLOCK", "TQ1_0, ONE_WITH_A_ZERO_BLOCK"})
    void sumsAreLlamaCppsInBlockOrder(GgmlType type, Scales scales) {
        int k = 2560, n = 200, batch = 3;
        SplittableRandom rnd = Inputs.random("block order", type, scales);
        float[] v = new float[k * n];
        for (int i = 0; i < v.length; i++) {
            float s = scales == Scales.PER_BLOCK ? 0.02f + 0.01f * (i / 256 % 7) : 0.3f;
            v[i] = (rnd.nextInt(3) - 1) * s;
        }
        if (scales == Scales.ONE_WITH_A_ZERO_BLOCK) java.util.Arrays.fill(v, 77 * k + 512, 77 * k + 768, 0f);
        Tensor w = new Tensor("w", type, new long[] {k, n}, Inputs.place(type.quantize(v), Inputs.Placement.NATIVE_ODD));
        float[] x = Inputs.floats(rnd, batch * k);

        TernaryKernel kernel = type == GgmlType.TQ2_0 ? new TQ2_0MatMul() : new TQ1_0MatMul();
        TernaryPanels.Source src = kernel.source(w);
        Q8KActivations a = Q8KActivations.quantize(x, 0, k, batch, null);
        byte[] codes = new byte[k];
        float[] expected = new float[batch * n];
        for (int r = 0; r < n; r++) {
            src.codes(r, codes, 0);
            for (int b = 0; b < batch; b++) {
                float sumf = 0;
                for (int c = 0; c < k / 256; c++) {
                    int sumi = 0;
                    for (int j = c * 256; j < (c + 1) * 256; j++) sumi += (codes[j] - 1) * a.q[b * k + j];
                    sumf += (float) sumi * (a.d[b * (k / 256) + c] * src.scale(r, c));
                }
                expected[b * n + r] = sumf;
            }
        }

        for (WorkerPool pool : TestPools.BOTH) {
            Weights prepared = MatMul.prepare(w, pool);
            TernaryPanels panels = (TernaryPanels) prepared.packed.data();
            if (scales == Scales.ONE) {
                assertNull(panels.scales, "one scale: the per-row scales are dropped");
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.3f)), panels.uniformScale);
            } else {
                assertNotNull(panels.scales, scales + ": the per-row scales stay");
            }
            float[] y = new float[batch * n];
            MatMul.matmul(prepared, x, 0, batch, y, 0, pool);
            assertArrayEquals(expected, y, type + " " + scales + ", batch " + batch + ", " + pool.threads() + " threads");
            float[] one = new float[n];
            MatMul.matmul(prepared, x, k, 1, one, 0, pool);
            assertArrayEquals(java.util.Arrays.copyOfRange(expected, n, 2 * n), one, type + " " + scales + ", one vector");
        }
    }
}
