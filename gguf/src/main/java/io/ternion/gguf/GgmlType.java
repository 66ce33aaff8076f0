package io.ternion.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * The tensor types Ternion reads, with their ggml ids, block geometry and scalar codec. Layouts are
 * those of {@code shared/docs/formats.md}; ids follow upstream ggml except I2_S, whose id 36 is the
 * BitNet fork's (upstream's removed IQ4_NL_4_4), see {@link TypeResolver}.
 */
public enum GgmlType {
    F32(0, 1, 4, new F32Codec()),
    F16(1, 1, 2, new F16Codec()),
    Q4_0(2, 32, 18, new Q4_0Codec()),
    Q8_0(8, 32, 34, new Q8_0Codec()),
    Q4_K(12, 256, 144, new Q4_KCodec()),
    Q6_K(14, 256, 210, new Q6_KCodec()),
    BF16(30, 1, 2, new Bf16Codec()),
    TQ1_0(34, 256, 54, new TQ1_0Codec()),
    TQ2_0(35, 256, 66, new TQ2_0Codec()),
    /** BitNet fork: 128-element blocks of 32 bytes plus one per-tensor scale (n/4 + 32 bytes). */
    I2_S(36, 128, 32, new I2_SCodec()),
    Q1_0(41, 128, 18, new Q1_0Codec()),
    /** Upstream Q2_0 (Ternary Bonsai {@code *-Q2_0_g64.gguf}): codes −1, 0, +1, +2 times an fp16 d per 64. */
    Q2_0(42, 64, 18, new Q2_0Codec(64)),
    /**
     * The PrismML fork's first Q2_0 (Ternary Bonsai {@code *-Q2_0.gguf}): upstream's codes in blocks of
     * 128, stored under the same id 42; {@link TypeResolver} tells them apart by the tensors' sizes.
     * Not the fork's later PQ2_0 (id 142), which Ternion does not read.
     */
    Q2_0_128(42, 128, 34, new Q2_0Codec(128));

    /** The id stored in the tensor info. */
    public final int id;
    /** Elements per block; rows must be a multiple of it. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;
    private final TypeCodec codec;

    GgmlType(int id, int blockSize, int blockBytes, TypeCodec codec) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.codec = codec;
    }

    public TypeCodec codec() { return codec; }

    /** Bytes a tensor of {@code elements} elements occupies in the file. */
    public long byteSize(long elements) {
        long blocks = Math.multiplyExact(elements / blockSize, (long) blockBytes);
        return this == I2_S ? blocks + I2_SCodec.TRAILER : blocks;
    }

    /** Bytes of one row of {@code rowLength} elements (for I2_S, without the per-tensor trailer). */
    public long rowBytes(long rowLength) {
        return rowLength / blockSize * blockBytes;
    }

    /** Bits per weight, counting block scales (and for I2_S ignoring the 32-byte trailer). */
    public double bitsPerWeight() {
        return 8.0 * blockBytes / blockSize;
    }

    /** Codes −1, 0, +1 only (Q2_0's fourth code, +2, makes it not ternary in this sense). */
    public boolean isTernary() { return this == TQ1_0 || this == TQ2_0 || this == I2_S; }

    /** Decodes a block-aligned range of a tensor whose bytes are exactly {@code tensorData}. */
    public void dequantize(MemorySegment tensorData, long first, float[] out, int outOffset, int count) {
        if (first % blockSize != 0 || count % blockSize != 0) {
            throw new IllegalArgumentException(this + " decodes whole blocks of " + blockSize
                    + ", not elements " + first + "+" + count);
        }
        codec.dequantize(tensorData, first, out, outOffset, count);
    }

    /** Encodes a whole tensor with the type's reference quantizer. */
    public byte[] quantize(float[] values) {
        if (!codec.canQuantize()) throw new UnsupportedOperationException("Ternion does not write " + this);
        if (values.length % blockSize != 0) {
            throw new IllegalArgumentException(this + " quantizes whole blocks of " + blockSize + ", not " + values.length);
        }
        return codec.quantize(values);
    }

    public boolean canQuantize() { return codec.canQuantize(); }

    /** Parses a type name as users write it ({@code tq2_0}, {@code Q8_0}, {@code f16}). */
    public static GgmlType parse(String name) {
        for (GgmlType t : values()) if (t.name().equalsIgnoreCase(name)) return t;
        throw new IllegalArgumentException("unknown tensor type '" + name + "'");
    }

    /**
     * Names of the ggml ids Ternion does not read, so an error can say what a file holds. From
     * upstream {@code ggml.h}.
     */
    static final Map<Integer, String> OTHER_TYPE_NAMES = Map.ofEntries(
            Map.entry(3, "Q4_1"), Map.entry(4, "Q4_2 (removed)"), Map.entry(5, "Q4_3 (removed)"),
            Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(9, "Q8_1"), Map.entry(10, "Q2_K"),
            Map.entry(11, "Q3_K"), Map.entry(13, "Q5_K"), Map.entry(15, "Q8_K"), Map.entry(16, "IQ2_XXS"),
            Map.entry(17, "IQ2_XS"), Map.entry(18, "IQ3_XXS"), Map.entry(19, "IQ1_S"), Map.entry(20, "IQ4_NL"),
            Map.entry(21, "IQ3_S"), Map.entry(22, "IQ2_S"), Map.entry(23, "IQ4_XS"), Map.entry(24, "I8"),
            Map.entry(25, "I16"), Map.entry(26, "I32"), Map.entry(27, "I64"), Map.entry(28, "F64"),
            Map.entry(29, "IQ1_M"), Map.entry(31, "Q4_0_4_4 (removed)"), Map.entry(32, "Q4_0_4_8 (removed)"),
            Map.entry(33, "Q4_0_8_8 (removed)"), Map.entry(37, "I8_S (BitNet fork activation type) / IQ4_NL_4_8 (removed)"),
            Map.entry(38, "TL1 (BitNet fork) / IQ4_NL_8_8 (removed)"), Map.entry(39, "MXFP4 / TL2 (BitNet fork)"),
            Map.entry(40, "NVFP4 / Q1_0 group 32 (early PrismML fork)"),
            Map.entry(142, "PQ2_0 (PrismML fork, experimental)"), Map.entry(143, "PTQ1_0 (PrismML fork)"));

    private static final Map<Integer, GgmlType> BY_ID;
    static {
        var m = new java.util.HashMap<Integer, GgmlType>();
        // Id 42 is two layouts, which only TypeResolver can tell apart.
        for (GgmlType t : values()) if (t.id != Q2_0.id) m.put(t.id, t);
        BY_ID = Map.copyOf(m);
    }

    /** The type Ternion reads under this id, ignoring fork collisions (see {@link TypeResolver}); or null. */
    static GgmlType byId(long id) {
        return id >= 0 && id <= Integer.MAX_VALUE ? BY_ID.get((int) id) : null;
    }

    /** A name for any id, for messages. */
    static String describeId(long id) {
        if (id == Q2_0.id) return "Q2_0";
        GgmlType t = byId(id);
        if (t != null) return t.name();
        String other = id >= 0 && id <= Integer.MAX_VALUE ? OTHER_TYPE_NAMES.get((int) id) : null;
        return other != null ? other : "unknown type";
    }
}
