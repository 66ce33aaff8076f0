package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The packed kernels' output bits, pinned: a digest of their results on fixed inputs, recorded on
 * an AVX-512 CPU where {@link TernaryPanels}, {@link BinaryPanels} and {@link TwoBitPanels} run as compiled vector code.
 * The conformance table only bounds the error against a double reference; this says that every
 * other JVM (C2 or interpreted, 512-, 256- or 128-bit vectors: the build runs it again under
 * {@code MaxVectorSize=32}; {@code =16}, {@code -Xint} and {@code UseAVX=2} were checked by hand) gives the same bits, as the kernels' integer
 * sums and fixed float roundings promise. Shapes: a partial last panel (300 rows), I2_S's partial
 * last chunk (k = 384), a decode and a prompt of more than one quantization group, 1 and 3 threads.
 */
class PackedBitsTest {

    @ParameterizedTest(name = "{0} k={1}")
    @CsvSource({
        "I2_S, 384, 0xd7c49c3309d4d72dL",
        "I2_S, 2560, 0x9f2e33d33e34b17dL",
        "TQ2_0, 512, 0x7d4b7af65f0dce9dL",
        "TQ1_0, 512, 0x36e7001b21ac4311L",
        "Q1_0, 384, 0x7e9ca01a89daa7e1L",
        "Q1_0, 2560, 0x41fca26a99856fdL",
        "Q2_0, 192, 0x952f7c32c792423dL",
        "Q2_0_128, 2560, 0x15a1122ca7421269L",
    })
    void outputBitsAreThoseRecorded(GgmlType type, int k, String expected) {
        int n = 300;
        SplittableRandom rnd = Inputs.random("bits", type.name(), k);
        Tensor w = Inputs.weights(rnd, type, k, n, Placement.NATIVE_ODD);
        long digest = 0xcbf29ce484222325L;
        for (int batch : new int[] {1, 20}) {
            float[] x = new float[batch * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            for (WorkerPool pool : TestPools.BOTH) {
                float[] y = new float[batch * n];
                MatMul.matmul(MatMul.prepare(w, pool), x, 0, batch, y, 0, pool);
                for (float v : y) digest = (digest ^ Float.floatToRawIntBits(v)) * 0x100000001b3L;
            }
        }
        assertEquals(expected, "0x" + Long.toHexString(digest) + "L", type + " k=" + k + ": output bits changed");
    }
}
