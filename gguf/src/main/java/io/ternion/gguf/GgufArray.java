package io.ternion.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A metadata array. Elements are kept in one primitive Java array of the element type's natural
 * width, so a 128k-token vocabulary costs one array rather than 128k boxes:
 * UINT8/INT8 in {@code byte[]}, UINT16/INT16 in {@code short[]}, UINT32/INT32 in {@code int[]},
 * UINT64/INT64 in {@code long[]}, FLOAT32 in {@code float[]}, FLOAT64 in {@code double[]}, BOOL in
 * {@code boolean[]}, STRING in {@code String[]} and nested arrays in {@code GgufArray[]}. Unsigned
 * values keep their bits; the accessors widen them without sign.
 */
public record GgufArray(MetadataType elementType, Object data) {

    public GgufArray {
        Objects.requireNonNull(elementType);
        Class<?> expected = storageClass(elementType);
        if (!expected.isInstance(data)) {
            throw new IllegalArgumentException(elementType + " array needs " + expected.getSimpleName()
                    + ", got " + (data == null ? "null" : data.getClass().getSimpleName()));
        }
    }

    static Class<?> storageClass(MetadataType t) {
        return switch (t) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
    }

    public static GgufArray ofStrings(String... values) { return new GgufArray(MetadataType.STRING, values.clone()); }
    public static GgufArray ofFloats(float... values) { return new GgufArray(MetadataType.FLOAT32, values.clone()); }
    public static GgufArray ofInt32(int... values) { return new GgufArray(MetadataType.INT32, values.clone()); }
    public static GgufArray ofUInt32(int... values) { return new GgufArray(MetadataType.UINT32, values.clone()); }

    public int length() {
        return java.lang.reflect.Array.getLength(data);
    }

    /** Element i as a long; unsigned types are widened without sign. */
    public long longAt(int i) {
        return switch (elementType) {
            case UINT8 -> ((byte[]) data)[i] & 0xFFL;
            case INT8 -> ((byte[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFFL;
            case INT16 -> ((short[]) data)[i];
            case UINT32 -> ((int[]) data)[i] & 0xFFFF_FFFFL;
            case INT32 -> ((int[]) data)[i];
            case UINT64, INT64 -> ((long[]) data)[i];
            case BOOL -> ((boolean[]) data)[i] ? 1 : 0;
            default -> throw new IllegalStateException("not an integer array: " + elementType);
        };
    }

    /** Element i as a double (integer and float arrays). */
    public double doubleAt(int i) {
        return switch (elementType) {
            case FLOAT32 -> ((float[]) data)[i];
            case FLOAT64 -> ((double[]) data)[i];
            case UINT64 -> unsignedToDouble(((long[]) data)[i]);
            default -> longAt(i);
        };
    }

    private static double unsignedToDouble(long v) {
        return v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
    }

    public String stringAt(int i) {
        if (elementType != MetadataType.STRING) throw new IllegalStateException("not a string array: " + elementType);
        return ((String[]) data)[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray(MetadataType t, Object d)
                && t == elementType && Arrays.deepEquals(new Object[] {data}, new Object[] {d});
    }

    @Override
    public int hashCode() {
        return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[] {data});
    }

    @Override
    public String toString() {
        int n = length();
        StringBuilder sb = new StringBuilder(elementType.name()).append('[').append(n).append("]{");
        for (int i = 0; i < Math.min(n, 4); i++) {
            if (i > 0) sb.append(", ");
            Object e = java.lang.reflect.Array.get(data, i);
            sb.append(e instanceof String s ? '"' + s + '"' : String.valueOf(e));
        }
        return sb.append(n > 4 ? ", …}" : "}").toString();
    }
}
