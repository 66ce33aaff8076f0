package io.ternion.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A typed view of one tensor's bytes: what kernels in other modules consume, without knowing GGUF.
 * {@code data} is exactly the tensor's bytes (usually a slice of the memory-mapped file, so nothing
 * is copied). {@code shape[0]} is the row length (ggml's ne0, the input dimension of a weight
 * matrix); the rows are the product of the remaining dimensions.
 */
public record Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {

    public Tensor {
        shape = shape.clone();
        long n = TensorInfo.elementCount(shape);
        if (shape.length > 0 && shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException(name + ": row length " + shape[0] + " is not a multiple of "
                    + type + "'s block size " + type.blockSize);
        }
        if (data.byteSize() != type.byteSize(n)) {
            throw new IllegalArgumentException(name + ": " + type + " " + Arrays.toString(shape) + " needs "
                    + type.byteSize(n) + " bytes, got " + data.byteSize());
        }
    }

    /** A tensor over heap bytes produced by a quantizer. */
    public static Tensor of(String name, GgmlType type, long[] shape, byte[] bytes) {
        return new Tensor(name, type, shape, MemorySegment.ofArray(bytes));
    }

    /** Quantizes {@code values} with the type's reference quantizer. */
    public static Tensor quantize(String name, GgmlType type, long[] shape, float[] values) {
        return of(name, type, shape, type.quantize(values));
    }

    @Override
    public long[] shape() { return shape.clone(); }

    public long dim(int i) { return i < shape.length ? shape[i] : 1; }

    public long elementCount() { return TensorInfo.elementCount(shape); }

    public long rowLength() { return shape.length == 0 ? 1 : shape[0]; }

    public long rows() { return rowLength() == 0 ? 0 : elementCount() / rowLength(); }

    /** Decodes one row with the scalar reference. */
    public void dequantizeRow(long row, float[] out, int outOffset) {
        int len = Math.toIntExact(rowLength());
        type.dequantize(data, row * len, out, outOffset, len);
    }

    /** Decodes the whole tensor with the scalar reference (it must fit in one Java array). */
    public float[] dequantize() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name + " has " + n + " elements, too many for one float[]");
        }
        float[] out = new float[(int) n];
        type.dequantize(data, 0, out, 0, (int) n);
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && type == t.type && Arrays.equals(shape, t.shape)
                && data.byteSize() == t.data.byteSize() && data.mismatch(t.data) == -1;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
