package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/** F16 (type 1): little-endian IEEE binary16. */
public final class F16Codec implements TypeCodec {
    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int i = 0; i < count; i++) out[outOffset + i] = Numbers.halfToFloat(data.get(Numbers.SHORT, (first + i) * 2));
    }

    @Override public boolean canQuantize() { return true; }

    @Override
    public byte[] quantize(float[] values) {
        byte[] out = new byte[values.length * 2];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int i = 0; i < values.length; i++) dst.set(Numbers.SHORT, i * 2L, Numbers.floatToHalf(values[i]));
        return out;
    }
}
