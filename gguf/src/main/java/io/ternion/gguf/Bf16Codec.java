package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/** BF16 (type 30): the top 16 bits of an IEEE binary32. */
public final class Bf16Codec implements TypeCodec {
    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int i = 0; i < count; i++) out[outOffset + i] = Numbers.bf16ToFloat(data.get(Numbers.SHORT, (first + i) * 2));
    }

    @Override public boolean canQuantize() { return true; }

    @Override
    public byte[] quantize(float[] values) {
        byte[] out = new byte[values.length * 2];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int i = 0; i < values.length; i++) dst.set(Numbers.SHORT, i * 2L, Numbers.floatToBf16(values[i]));
        return out;
    }
}
