package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K (type 12): blocks of 256 as {@code fp16 d, fp16 dmin, uint8 scales[12], uint8 qs[128]}: eight
 * sub-blocks of 32, each with a 6-bit scale and min. Chunk c of 64 elements reads 32 bytes: low
 * nibbles are sub-block 2c, high nibbles sub-block 2c+1; value = d·sc·q − dmin·m.
 */
public final class Q4_KCodec implements TypeCodec {
    static final int QK = 256, BYTES = 144;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        int[] sm = new int[2];
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base));
            float dmin = Numbers.halfToFloat(data.get(Numbers.SHORT, base + 2));
            long scales = base + 4, qs = base + 16;
            int o = outOffset + b * QK;
            for (int c = 0; c < 4; c++) {
                scaleMin(data, scales, 2 * c, sm);
                float d1 = d * sm[0], m1 = dmin * sm[1];
                scaleMin(data, scales, 2 * c + 1, sm);
                float d2 = d * sm[0], m2 = dmin * sm[1];
                for (int l = 0; l < 32; l++) {
                    int q = data.get(Numbers.BYTE, qs + 32L * c + l) & 0xFF;
                    out[o + 64 * c + l] = d1 * (q & 0xF) - m1;
                    out[o + 64 * c + 32 + l] = d2 * (q >> 4) - m2;
                }
            }
        }
    }

    /** {@code get_scale_min_k4}: the 6-bit scale and min of sub-block j. */
    static void scaleMin(MemorySegment data, long s, int j, int[] scaleMin) {
        if (j < 4) {
            scaleMin[0] = u8(data, s + j) & 63;
            scaleMin[1] = u8(data, s + j + 4) & 63;
        } else {
            scaleMin[0] = (u8(data, s + j + 4) & 0xF) | ((u8(data, s + j - 4) >> 6) << 4);
            scaleMin[1] = (u8(data, s + j + 4) >> 4) | ((u8(data, s + j) >> 6) << 4);
        }
    }

    private static int u8(MemorySegment data, long at) {
        return data.get(Numbers.BYTE, at) & 0xFF;
    }
}
