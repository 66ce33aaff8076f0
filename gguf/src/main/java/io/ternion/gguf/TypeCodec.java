package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * The scalar reference for one tensor type: how its bytes decode to floats, and for the types we
 * write, how floats encode to its bytes. Every kernel elsewhere is tested against these. They are
 * written to be obviously right, not fast.
 */
public interface TypeCodec {

    /**
     * Decodes {@code count} elements starting at element {@code first} of a tensor whose bytes are
     * exactly {@code tensorData}. {@code first} and {@code count} must be multiples of the type's
     * block size.
     */
    void dequantize(MemorySegment tensorData, long first, float[] out, int outOffset, int count);

    /** Whether {@link #quantize} is implemented. */
    default boolean canQuantize() {
        return false;
    }

    /**
     * Encodes a whole tensor of {@code values.length} elements (a multiple of the block size) into its
     * on-disk bytes, following ggml's reference quantizer for the type.
     */
    default byte[] quantize(float[] values) {
        throw new UnsupportedOperationException("no quantizer for this type");
    }
}
