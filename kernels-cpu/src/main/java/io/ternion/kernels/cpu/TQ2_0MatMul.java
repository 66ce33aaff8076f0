package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * TQ2_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[64], fp16 d}; byte m of half h holds
 * elements 128h + m + 32n at bits 2n, code c meaning (c − 1)·d. Run as {@link TernaryKernel}
 * describes ({@code ggml_vec_dot_tq2_0_q8_K}).
 */
final class TQ2_0MatMul extends TernaryKernel {
    private static final int QK = 256, BYTES = 66;

    @Override GgmlType type() { return GgmlType.TQ2_0; }

    @Override boolean scaled() { return true; }

    @Override
    TernaryPanels.Source source(Tensor w) {
        MemorySegment data = w.data();
        int blocks = Math.toIntExact(w.rowLength() / QK);
        return new TernaryPanels.Source() {
            @Override
            public void codes(int r, byte[] codes) {
                int three = 0;
                for (int i = 0; i < blocks; i++) {
                    long o = ((long) r * blocks + i) * BYTES;
                    for (int h = 0; h < 2; h++) {
                        for (int m = 0; m < 32; m++) {
                            int q = data.get(Numbers.BYTE, o + 32 * h + m) & 0xFF;
                            three |= q & (q >> 1) & 0x55;
                            for (int n = 0; n < 4; n++) codes[QK * i + 128 * h + m + 32 * n] = (byte) ((q >> (2 * n)) & 3);
                        }
                    }
                }
                if (three != 0) throw TernaryKernel.code3(w, r);
            }

            @Override
            public float scale(int r, int c) {
                return Float.float16ToFloat(data.get(Numbers.SHORT, ((long) r * blocks + c) * BYTES + 64));
            }
        };
    }
}
