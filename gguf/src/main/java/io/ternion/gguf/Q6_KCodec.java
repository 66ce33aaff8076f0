package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q6_K (type 14): blocks of 256 as {@code uint8 ql[128], uint8 qh[64], int8 scales[16], fp16 d},
 * decoded in two halves of 128: 4 low bits from ql, 2 high bits from qh, minus 32, times d·scale.
 */
public final class Q6_KCodec implements TypeCodec {
    static final int QK = 256, BYTES = 210;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base + 208));
            for (int half = 0; half < 2; half++) {
                long ql = base + 64L * half, qh = base + 128 + 32L * half, sc = base + 192 + 8L * half;
                int o = outOffset + b * QK + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int low0 = u8(data, ql + l), low1 = u8(data, ql + l + 32), high = u8(data, qh + l);
                    int q1 = ((low0 & 0xF) | ((high & 3) << 4)) - 32;
                    int q2 = ((low1 & 0xF) | (((high >> 2) & 3) << 4)) - 32;
                    int q3 = ((low0 >> 4) | (((high >> 4) & 3) << 4)) - 32;
                    int q4 = ((low1 >> 4) | (((high >> 6) & 3) << 4)) - 32;
                    out[o + l] = d * data.get(Numbers.BYTE, sc + is) * q1;
                    out[o + l + 32] = d * data.get(Numbers.BYTE, sc + is + 2) * q2;
                    out[o + l + 64] = d * data.get(Numbers.BYTE, sc + is + 4) * q3;
                    out[o + l + 96] = d * data.get(Numbers.BYTE, sc + is + 6) * q4;
                }
            }
        }
    }

    private static int u8(MemorySegment data, long at) {
        return data.get(Numbers.BYTE, at) & 0xFF;
    }
}
