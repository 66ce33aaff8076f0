package io.ternion.gguf;

import java.util.Objects;

/**
 * One metadata value with its on-disk type, so a file read and written again keeps every key's
 * exact type. Integers are held as {@link Long} with their raw bits (a UINT64 above 2^63 is
 * negative), FLOAT32 as {@link Float}, FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as
 * {@link String} and ARRAY as {@link GgufArray}.
 */
public record MetadataValue(MetadataType type, Object value) {

    public MetadataValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        boolean ok = switch (type) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> value instanceof Long;
            case FLOAT32 -> value instanceof Float;
            case FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof GgufArray;
        };
        if (!ok) throw new IllegalArgumentException(type + " value cannot be a " + value.getClass().getSimpleName());
    }

    public static MetadataValue uint32(long v) { return new MetadataValue(MetadataType.UINT32, v & 0xFFFF_FFFFL); }
    public static MetadataValue int32(int v) { return new MetadataValue(MetadataType.INT32, (long) v); }
    public static MetadataValue uint64(long v) { return new MetadataValue(MetadataType.UINT64, v); }
    public static MetadataValue float32(float v) { return new MetadataValue(MetadataType.FLOAT32, v); }
    public static MetadataValue bool(boolean v) { return new MetadataValue(MetadataType.BOOL, v); }
    public static MetadataValue string(String v) { return new MetadataValue(MetadataType.STRING, v); }
    public static MetadataValue array(GgufArray v) { return new MetadataValue(MetadataType.ARRAY, v); }

    /** A short human-readable rendering, arrays abbreviated. */
    @Override
    public String toString() {
        return switch (type) {
            case UINT64 -> Long.toUnsignedString((Long) value);
            case STRING -> '"' + (String) value + '"';
            default -> String.valueOf(value);
        };
    }
}
