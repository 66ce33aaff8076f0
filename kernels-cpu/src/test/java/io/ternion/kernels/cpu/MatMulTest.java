package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** What the conformance table does not cover: types without a kernel and bad arguments. */
class MatMulTest {

    @Test
    void everyTypeTheReaderKnowsHasAKernel() {
        // Since the ternary and binary kernels, none is left without one; the registry's error path
        // (UnsupportedOperationException naming the type) has nothing to be exercised with.
        for (GgmlType t : GgmlType.values()) assertTrue(MatMul.supports(t), t + " has no kernel");
        Tensor w = new Tensor("w", GgmlType.TQ2_0, new long[] {256, 2}, MemorySegment.ofArray(new byte[2 * 66]));
        MatMul.getRow(w, 1, new float[256], 0);
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
}
