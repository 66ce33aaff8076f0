package io.ternion.gguf;

import java.util.Arrays;

/**
 * One tensor as the file describes it: name, resolved type, shape ({@code shape[0]} is the
 * contiguous row length, ggml's ne0), byte offset relative to the data section, and byte size.
 */
public record TensorInfo(String name, GgmlType type, long[] shape, long offset, long byteSize) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() { return shape.clone(); }

    public int dims() { return shape.length; }

    public long dim(int i) { return i < shape.length ? shape[i] : 1; }

    public long elementCount() { return elementCount(shape); }

    /** Row length (ne0). */
    public long rowLength() { return shape.length == 0 ? 1 : shape[0]; }

    /** Number of rows: the product of every dimension but the first. */
    public long rows() { return rowLength() == 0 ? 0 : elementCount() / rowLength(); }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** The shape as ggml prints it, e.g. {@code [2560, 128256]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && type == t.type && Arrays.equals(shape, t.shape)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + shapeString() + " @" + offset + " (" + byteSize + " B)";
    }
}
