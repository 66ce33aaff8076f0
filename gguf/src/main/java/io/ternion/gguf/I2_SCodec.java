package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * I2_S (BitNet fork type 36), the x86 layout of the official BitNet b1.58 2B4T file: the whole
 * tensor is 128-element blocks of 32 bytes in flat order, element j of a block in byte j % 32 at bit
 * shift 6 − 2·(j / 32); code 0/1/2 means −1/0/+1. After the n/4 code bytes comes one float32 scale
 * for the whole tensor, then 28 bytes of padding: n/4 + 32 bytes in all.
 */
public final class I2_SCodec implements TypeCodec {
    static final int QK = 128, BLOCK_BYTES = 32, TRAILER = 32;

    /** Bytes of a tensor of n elements: codes, then the scale and its padding. */
    public static long byteSize(long n) {
        return n / 4 + TRAILER;
    }

    /** The tensor's one scale, stored right after its codes. */
    public static float scale(MemorySegment tensorData) {
        return tensorData.get(Numbers.FLOAT, tensorData.byteSize() - TRAILER);
    }

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        float scale = scale(data);
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BLOCK_BYTES;
            for (int j = 0; j < QK; j++) {
                int q = data.get(Numbers.BYTE, base + j % 32) & 0xFF;
                int code = (q >> (6 - 2 * (j / 32))) & 3;
                out[outOffset + b * QK + j] = (code - 1) * scale;
            }
        }
    }

    @Override public boolean canQuantize() { return true; }

    /**
     * {@code quantize_i2_s}: the scale is max|x| over the tensor and each code takes only the sign
     * (|x| &lt; 1e-6 is zero). The input is expected to be ternary already (the converters apply
     * absmean ternarization first); anything else loses its magnitudes.
     */
    @Override
    public byte[] quantize(float[] x) {
        int n = x.length;
        double max = 0;
        for (float v : x) max = Math.max(max, Math.abs((double) v));
        byte[] out = new byte[(int) byteSize(n)];
        for (int i = 0; i < n; i++) {
            int code = Math.abs((double) x[i]) < 1e-6 ? 1 : ((double) x[i] * max > 0 ? 2 : 0);
            int block = i / QK, j = i % QK;
            out[block * BLOCK_BYTES + j % 32] |= (byte) (code << (6 - 2 * (j / 32)));
        }
        MemorySegment.ofArray(out).set(Numbers.FLOAT, n / 4, (float) max);
        return out;
    }
}
