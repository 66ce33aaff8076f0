package io.ternion.gguf;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes GGUF fields one at a time, little-endian, checking nothing, so a test can build a file
 * that is wrong in exactly one place. {@link #pos()} before a write gives the byte offset a parser
 * error about that field should name.
 */
final class GgufBytes {
    private byte[] buf = new byte[256];
    private int size;

    /** The magic, a version and both counts: the 24-byte header. */
    static GgufBytes header(int version, long tensorCount, long kvCount) {
        return new GgufBytes().magic().u32(version).u64(tensorCount).u64(kvCount);
    }

    /** Offset of the next byte written. */
    int pos() { return size; }

    GgufBytes magic() { return raw('G', 'G', 'U', 'F'); }

    GgufBytes raw(int... bytes) {
        for (int b : bytes) u8(b);
        return this;
    }

    GgufBytes raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, size, bytes.length);
        size += bytes.length;
        return this;
    }

    GgufBytes u8(int v) {
        ensure(1);
        buf[size++] = (byte) v;
        return this;
    }

    GgufBytes u16(int v) { return u8(v).u8(v >>> 8); }

    GgufBytes u32(long v) {
        for (int i = 0; i < 4; i++) u8((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes u64(long v) {
        for (int i = 0; i < 8; i++) u8((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes f32(float v) { return u32(Float.floatToRawIntBits(v)); }

    GgufBytes f64(double v) { return u64(Double.doubleToRawLongBits(v)); }

    /** A GGUF string: uint64 length, then the UTF-8 bytes. */
    GgufBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    /** A string whose length field says {@code declaredLength} whatever follows. */
    GgufBytes string(long declaredLength, String s) {
        return u64(declaredLength).raw(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A metadata key and its value type id; the caller writes the value. */
    GgufBytes key(String key, long typeId) { return string(key).u32(typeId); }

    GgufBytes key(String key, MetadataType type) { return key(key, type.id); }

    GgufBytes kvU8(String key, int v) { return key(key, MetadataType.UINT8).u8(v); }

    GgufBytes kvU32(String key, long v) { return key(key, MetadataType.UINT32).u32(v); }

    GgufBytes kvU64(String key, long v) { return key(key, MetadataType.UINT64).u64(v); }

    GgufBytes kvF32(String key, float v) { return key(key, MetadataType.FLOAT32).f32(v); }

    /** A BOOL stored as the raw byte {@code v}, so values other than 0 and 1 can be written. */
    GgufBytes kvBool(String key, int v) { return key(key, MetadataType.BOOL).u8(v); }

    GgufBytes kvString(String key, String v) { return key(key, MetadataType.STRING).string(v); }

    /** An array's element type and count; the caller writes the elements. */
    GgufBytes arrayHeader(long elementTypeId, long count) { return u32(elementTypeId).u64(count); }

    GgufBytes arrayHeader(MetadataType elementType, long count) { return arrayHeader(elementType.id, count); }

    /** A key of type ARRAY with its element type and count; the caller writes the elements. */
    GgufBytes kvArray(String key, MetadataType elementType, long count) {
        return key(key, MetadataType.ARRAY).arrayHeader(elementType, count);
    }

    /** One tensor info. {@code dims[0]} is ne0; any number of dims, any type id, any offset. */
    GgufBytes tensorInfo(String name, long typeId, long offset, long... dims) {
        string(name).u32(dims.length);
        for (long d : dims) u64(d);
        return u32(typeId).u64(offset);
    }

    GgufBytes tensorInfo(String name, GgmlType type, long offset, long... dims) {
        return tensorInfo(name, type.id, offset, dims);
    }

    GgufBytes zeros(long n) {
        ensure(Math.toIntExact(n));
        size += (int) n; // the buffer is zero beyond size: ensure() only ever grows it
        return this;
    }

    GgufBytes fill(int n, int value) {
        for (int i = 0; i < n; i++) u8(value);
        return this;
    }

    /** Zero padding up to the next multiple of {@code alignment}, as before the data section. */
    GgufBytes padTo(long alignment) {
        return zeros(GgufFile.align(size, alignment) - size);
    }

    /** Overwrites the 8 bytes at {@code at} (to patch a count or length once the rest is known). */
    GgufBytes patchU64(int at, long v) {
        for (int i = 0; i < 8; i++) buf[at + i] = (byte) (v >>> (8 * i));
        return this;
    }

    byte[] toByteArray() { return Arrays.copyOf(buf, size); }

    MemorySegment segment() { return MemorySegment.ofArray(toByteArray()); }

    /** Parses what was written so far under the name {@code source}. */
    GgufFile read(String source) { return GgufFile.read(source, segment()); }

    private void ensure(int n) {
        if (size + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
    }
}
