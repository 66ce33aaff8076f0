package io.ternion.gguf;

/**
 * Turns a tensor's stored type id into a {@link GgmlType}, resolving the ids that forks reuse.
 *
 * <p>Id 36 is I2_S in the BitNet fork but upstream's removed IQ4_NL_4_4; ids 39–42 and 142–143 mean
 * different things upstream and in the PrismML and turboquant forks. The id alone cannot decide, so
 * the evidence is the architecture, {@code general.file_type}, and the bytes the tensor offsets
 * leave for the tensor (ggml writes tensors back to back, each padded to the alignment). Errors say
 * which interpretations were tried and why each failed.
 */
final class TypeResolver {
    private TypeResolver() {}

    /** What is known about the file and the tensor when its type is resolved. */
    record Context(String source, String architecture, long fileType, long alignment) {
        boolean isBitnetFile() {
            return (architecture != null && architecture.startsWith("bitnet")) || fileType == 40 || fileType == 137;
        }
    }

    /**
     * @param span bytes from the tensor's offset to the next tensor's offset (or to the end of the
     *             file for the last one)
     */
    static GgmlType resolve(Context ctx, long infoOffset, String name, long typeId, long elements, long span) {
        if (typeId == GgmlType.I2_S.id) {
            long need = GgmlType.I2_S.byteSize(elements / GgmlType.I2_S.blockSize * GgmlType.I2_S.blockSize);
            boolean fits = span >= need && elements % GgmlType.I2_S.blockSize == 0;
            boolean snug = fits && span - need < ctx.alignment();
            if (fits && (snug || ctx.isBitnetFile())) return GgmlType.I2_S;
            throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id 36, which is"
                    + " I2_S in the BitNet fork (needs " + need + " bytes for " + elements + " elements) and the removed"
                    + " IQ4_NL_4_4 upstream; the file leaves " + span + " bytes for it"
                    + (ctx.isBitnetFile() ? "" : " and is not a BitNet file (architecture '" + ctx.architecture()
                    + "', file_type " + ctx.fileType() + ")") + ", so it is neither");
        }
        if (typeId == 42 || typeId == 142) {
            String which = span >= elements / 64 * 18 && span - elements / 64 * 18 < ctx.alignment()
                    ? "upstream Q2_0 (group 64, 18-byte blocks)"
                    : span >= elements / 128 * 34 ? "PrismML's group-128 Q2_0 (34-byte blocks)" : "Q2_0";
            throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id " + typeId
                    + ", by its size " + which + ", a ternary Bonsai type Ternion does not read yet");
        }
        GgmlType t = GgmlType.byId(typeId);
        if (t != null) return t;
        String known = GgmlType.describeId(typeId);
        throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id " + typeId
                + (known.equals("unknown type") ? ", which no ggml version defines" : " (" + known
                + "), which Ternion does not read"));
    }
}
