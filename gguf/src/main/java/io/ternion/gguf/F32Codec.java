package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/** F32 (type 0): little-endian IEEE binary32. */
public final class F32Codec implements TypeCodec {
    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int i = 0; i < count; i++) out[outOffset + i] = data.get(Numbers.FLOAT, (first + i) * 4);
    }

    @Override public boolean canQuantize() { return true; }

    @Override
    public byte[] quantize(float[] values) {
        byte[] out = new byte[values.length * 4];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int i = 0; i < values.length; i++) dst.set(Numbers.FLOAT, i * 4L, values[i]);
        return out;
    }
}
