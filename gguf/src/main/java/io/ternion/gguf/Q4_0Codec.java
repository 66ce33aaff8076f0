package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 (type 2): blocks of 32 as {@code fp16 d, uint8 qs[16]}. Element j &lt; 16 is the low nibble of
 * qs[j], element j+16 its high nibble; value = (nibble − 8)·d.
 */
public final class Q4_0Codec implements TypeCodec {
    static final int QK = 32, BYTES = 18;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base));
            int o = outOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = data.get(Numbers.BYTE, base + 2 + j) & 0xFF;
                out[o + j] = ((q & 0xF) - 8) * d;
                out[o + j + 16] = ((q >> 4) - 8) * d;
            }
        }
    }
}
