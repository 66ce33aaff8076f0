package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A hand-built I2_S tensor in the exact x86 layout (128-element blocks of 32 bytes, element j in
 * byte j % 32 at bit shift 6 − 2·(j / 32), then the f32 scale), multiplied by activations whose
 * int8 quantization is worked out by hand, so every product is known. Any other element order gives
 * other numbers.
 */
class I2sKnownProductTest {

    @Test
    void productsOfAHandBuiltTensor() {
        // Two rows of 128. Row 0: +1 at j = 0 (byte 0, bits 7:6), −1 at j = 33 (byte 1, bits 5:4),
        // +1 at j = 127 (byte 31, bits 1:0); zero elsewhere. Row 1: +1 at j = 64 and 65 (bytes 0 and 1, bits 3:2).
        byte[] t = new byte[2 * 32 + 32];
        java.util.Arrays.fill(t, 0, 64, (byte) 0x55); // code 1 (zero) in every field
        t[0] = (byte) ((t[0] & ~0xC0) | (2 << 6));       // row 0, j = 0  → +1
        t[1] = (byte) ((t[1] & ~0x30) | (0 << 4));       // row 0, j = 33 → −1
        t[31] = (byte) ((t[31] & ~0x03) | 2);            // row 0, j = 127 → +1
        t[32] = (byte) ((t[32] & ~0x0C) | (2 << 2));     // row 1, j = 64 → +1
        t[33] = (byte) ((t[33] & ~0x0C) | (2 << 2));     // row 1, j = 65 → +1
        java.nio.ByteBuffer.wrap(t, 64, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(0.5f); // the tensor's scale
        Tensor w = Tensor.of("w", GgmlType.I2_S, new long[] {128, 2}, t);

        // x_j = j − 64: max|x| = 64, so act_scale = 127/64 and q_j = round((j − 64)·127/64); none of the
        // positions used here is a halfway case.
        float[] x = new float[128];
        for (int j = 0; j < 128; j++) x[j] = j - 64;
        long q0 = Math.round(-64 * 127.0 / 64), q33 = Math.round(-31 * 127.0 / 64), q127 = Math.round(63 * 127.0 / 64);
        long q64 = 0, q65 = Math.round(1 * 127.0 / 64);
        float actScale = 127f / 64f;
        float[] expected = {(float) (q0 - q33 + q127) / actScale * 0.5f, (float) (q64 + q65) / actScale * 0.5f};

        float[] y = new float[2];
        try (WorkerPool pool = new WorkerPool(2)) {
            MatMul.matmul(w, x, 0, 1, y, 0, pool);
        }
        assertEquals(expected[0], y[0], 1e-6f);
        assertEquals(expected[1], y[1], 1e-6f);
        // And the scalar decoder agrees on where the weights are.
        float[] d = w.dequantize();
        assertEquals(0.5f, d[0]);
        assertEquals(-0.5f, d[33]);
        assertEquals(0.5f, d[127]);
        assertEquals(0.5f, d[128 + 64]);
        assertEquals(0.5f, d[128 + 65]);
        assertEquals(0f, d[1]);
    }
}
