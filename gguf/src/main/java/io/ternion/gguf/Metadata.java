package io.ternion.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order, with typed accessors. Integer accessors take
 * any integer type, because real files store counts as UINT32 where the spec's convention is UINT64
 * and the other way round. A missing key or a value of the wrong kind is a
 * {@link GgufFormatException} naming the key and where it was stored.
 */
public final class Metadata {
    private final String source;
    private final Map<String, MetadataValue> values;
    private final Map<String, Long> offsets;

    Metadata(String source, Map<String, MetadataValue> values, Map<String, Long> offsets) {
        this.source = source;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.offsets = offsets;
    }

    /** Metadata built in memory (for the writer and tests). */
    public static Metadata of(String source, Map<String, MetadataValue> values) {
        return new Metadata(source, values, Map.of());
    }

    public boolean has(String key) { return values.containsKey(key); }

    /** The value, or null when the key is absent. */
    public MetadataValue get(String key) { return values.get(key); }

    public Set<String> keys() { return values.keySet(); }

    public Map<String, MetadataValue> asMap() { return values; }

    public int size() { return values.size(); }

    // ---- scalars ----

    public long getLong(String key) {
        MetadataValue v = require(key);
        if (!v.type().isInteger()) throw wrongType(key, v, "an integer");
        return (Long) v.value();
    }

    public long getLong(String key, long defaultValue) {
        return has(key) ? getLong(key) : defaultValue;
    }

    /** An integer value that must fit in an int (a count, an id, a dimension). */
    public int getInt(String key) {
        long v = getLong(key);
        MetadataType t = values.get(key).type();
        boolean unsigned64 = t == MetadataType.UINT64 && v < 0;
        if (unsigned64 || v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new GgufFormatException(source, offsetOf(key), "metadata key '" + key + "' = "
                    + values.get(key) + " does not fit in a 32-bit int");
        }
        return (int) v;
    }

    public int getInt(String key, int defaultValue) {
        return has(key) ? getInt(key) : defaultValue;
    }

    public float getFloat(String key) {
        MetadataValue v = require(key);
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            case FLOAT64 -> (float) (double) (Double) v.value();
            default -> {
                if (v.type().isInteger()) yield (float) (long) (Long) v.value();
                throw wrongType(key, v, "a number");
            }
        };
    }

    public float getFloat(String key, float defaultValue) {
        return has(key) ? getFloat(key) : defaultValue;
    }

    public String getString(String key) {
        MetadataValue v = require(key);
        if (v.type() != MetadataType.STRING) throw wrongType(key, v, "a string");
        return (String) v.value();
    }

    public String getString(String key, String defaultValue) {
        return has(key) ? getString(key) : defaultValue;
    }

    public boolean getBoolean(String key) {
        MetadataValue v = require(key);
        if (v.type() != MetadataType.BOOL) throw wrongType(key, v, "a bool");
        return (Boolean) v.value();
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        return has(key) ? getBoolean(key) : defaultValue;
    }

    // ---- arrays ----

    public GgufArray getArray(String key) {
        MetadataValue v = require(key);
        if (v.type() != MetadataType.ARRAY) throw wrongType(key, v, "an array");
        return (GgufArray) v.value();
    }

    public String[] getStringArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() != MetadataType.STRING) throw wrongArray(key, a, "STRING");
        return (String[]) a.data();
    }

    /** A FLOAT32 array (FLOAT64 is narrowed). */
    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        return switch (a.elementType()) {
            case FLOAT32 -> (float[]) a.data();
            case FLOAT64 -> {
                double[] d = (double[]) a.data();
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
                yield f;
            }
            default -> throw wrongArray(key, a, "FLOAT32");
        };
    }

    /** An integer array of any width, as ints; values that do not fit are an error. */
    public int[] getIntArray(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() == MetadataType.INT32 || a.elementType() == MetadataType.UINT32) {
            return (int[]) a.data();
        }
        if (!a.elementType().isInteger()) throw wrongArray(key, a, "an integer type");
        int[] out = new int[a.length()];
        for (int i = 0; i < out.length; i++) {
            long v = a.longAt(i);
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw new GgufFormatException(source, offsetOf(key), "metadata key '" + key + "' element " + i
                        + " = " + v + " does not fit in a 32-bit int");
            }
            out[i] = (int) v;
        }
        return out;
    }

    // ---- errors ----

    private MetadataValue require(String key) {
        MetadataValue v = values.get(key);
        if (v == null) throw new GgufFormatException(source, -1, "metadata key '" + key + "' is missing");
        return v;
    }

    private long offsetOf(String key) {
        return offsets.getOrDefault(key, -1L);
    }

    private GgufFormatException wrongType(String key, MetadataValue v, String expected) {
        return new GgufFormatException(source, offsetOf(key), "metadata key '" + key + "' has type " + v.type()
                + ", expected " + expected);
    }

    private GgufFormatException wrongArray(String key, GgufArray a, String expected) {
        return new GgufFormatException(source, offsetOf(key), "metadata key '" + key + "' is an array of "
                + a.elementType() + ", expected " + expected);
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
