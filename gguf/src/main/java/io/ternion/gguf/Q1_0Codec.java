package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q1_0 (type 41, group 128; PrismML Bonsai): blocks of 128 as {@code fp16 d, uint8 qs[16]}. Element j
 * is bit j % 8 of qs[j / 8], least significant first; bit 1 means +d and bit 0 means −d (no zero).
 */
public final class Q1_0Codec implements TypeCodec {
    static final int QK = 128, BYTES = 18;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base));
            for (int j = 0; j < QK; j++) {
                int bit = (data.get(Numbers.BYTE, base + 2 + j / 8) >> (j % 8)) & 1;
                out[outOffset + b * QK + j] = bit != 0 ? d : -d;
            }
        }
    }

    @Override public boolean canQuantize() { return true; }

    /** {@code quantize_row_q1_0_ref}: d = mean|x| over the block, bit set where x ≥ 0. */
    @Override
    public byte[] quantize(float[] x) {
        int nb = x.length / QK;
        byte[] out = new byte[nb * BYTES];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int b = 0; b < nb; b++) {
            float sum = 0;
            for (int j = 0; j < QK; j++) sum += Math.abs(x[b * QK + j]);
            dst.set(Numbers.SHORT, (long) b * BYTES, Numbers.floatToHalf(sum / QK));
            for (int j = 0; j < QK; j++) {
                if (x[b * QK + j] >= 0) out[b * BYTES + 2 + j / 8] |= (byte) (1 << (j % 8));
            }
        }
        return out;
    }
}
