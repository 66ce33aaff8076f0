package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Tensor;
import io.ternion.gguf.TensorInfo;
import io.ternion.gguf.TestData;
import io.ternion.graph.conformance.ConformanceTable.Case;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import io.ternion.graph.conformance.KernelOp;
import io.ternion.graph.conformance.QuantizedReference;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The quantized-activation kernels beyond the conformance table: a batch is the same bits as its
 * vectors one at a time, and the real tensors that llama.cpp, bitnet.cpp and PrismML wrote agree
 * with the scalar reference.
 */
class QuantizedMatMulTest {
    @ParameterizedTest
    @EnumSource(names = {"I2_S", "TQ2_0", "TQ1_0", "Q1_0", "Q2_0", "Q2_0_128"})
    void batchIsItsVectorsOneAtATime(GgmlType type) {
        int k = 2560, n = 77, batch = 5;
        SplittableRandom rnd = Inputs.random("batch", type);
        Tensor w = Inputs.weights(rnd, type, k, n, Placement.NATIVE_ODD);
        float[] x = Inputs.floats(rnd, batch * k + 1);
        float[] all1 = new float[batch * n], all3 = new float[batch * n], each = new float[batch * n];
        MatMul.matmul(w, x, 1, batch, all1, 0, TestPools.ONE);
        MatMul.matmul(w, x, 1, batch, all3, 0, TestPools.THREE);
        for (int b = 0; b < batch; b++) MatMul.matmul(w, x, 1 + b * k, 1, each, b * n, TestPools.THREE);
        assertArrayEquals(all1, all3, "1 and 3 threads");
        assertArrayEquals(all1, each, "batch of 5 and 5 single vectors");
    }

    static Stream<Arguments> peerModels() {
        return Stream.of(
                Arguments.of("public-bitnet158-i2_s.gguf", GgmlType.I2_S),
                Arguments.of("public-bitnet-tq2_0.gguf", GgmlType.TQ2_0),
                Arguments.of("public-bitnet-tq1_0.gguf", GgmlType.TQ1_0),
                Arguments.of("public-qwen3-q1_0.gguf", GgmlType.Q1_0),
                Arguments.of("public-qwen3-q2_0.gguf", GgmlType.Q2_0_128));
    }

    @ParameterizedTest
    @MethodSource("peerModels")
    void realTensorsMatchTheReference(String file, GgmlType type) throws IOException {
        int tested = 0;
        try (GgufFile f = GgufFile.open(TestData.require("peer-cases/models/" + file))) {
            for (TensorInfo info : f.tensors()) {
                if (info.type() != type) continue;
                Tensor w = f.tensor(info);
                int k = (int) w.rowLength(), n = (int) w.rows(), batch = 2;
                SplittableRandom rnd = Inputs.random(file, info.name());
                float[] x = Inputs.floats(rnd, batch * k);
                double[] ref = QuantizedReference.matmul(w, x, batch);
                float[] y = new float[batch * n];
                MatMul.matmul(w, x, 0, batch, y, 0, TestPools.THREE);
                ConformanceTable.check(new Case(KernelOp.MATMUL, type, k, n, batch, 5e-5), info.name(), y, ref);
                tested++;
            }
        }
        assertTrue(tested > 0, "no " + type + " tensors in " + file);
    }
}
