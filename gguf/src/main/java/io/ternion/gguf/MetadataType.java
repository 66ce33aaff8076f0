package io.ternion.gguf;

/** The GGUF metadata value types ({@code gguf_metadata_value_type}), by their on-disk id. */
public enum MetadataType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4),
    FLOAT32(6, 4), BOOL(7, 1), STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    /** The id stored in the file. */
    public final int id;
    /**
     * The fewest bytes one value of this type takes in a file (a string's length field, an array's
     * element type and count). Used to reject counts that could not fit in the bytes left before
     * allocating anything for them.
     */
    public final int minBytes;

    MetadataType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    private static final MetadataType[] BY_ID = values();

    /** The type with this id, or null. */
    public static MetadataType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}
