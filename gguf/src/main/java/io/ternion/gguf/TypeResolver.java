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

    /**
     * What is known about the file and the tensor when its type is resolved.
     *
     * @param q2Layout the Q2_0 layout the file's largest type-42 tensor fits alone (null if none is
     *                 decisive): what decides a tensor too small to tell the layouts apart
     */
    record Context(String source, String architecture, long fileType, long alignment, GgmlType q2Layout) {
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
        if (typeId == GgmlType.Q2_0.id) return q2_0(ctx, infoOffset, name, elements, span);
        if (typeId == 142) {
            throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id 142, the PrismML"
                    + " fork's experimental PQ2_0, which Ternion does not read (it reads Q2_0, id 42, in both its"
                    + " 64- and 128-element blocks)");
        }
        GgmlType t = GgmlType.byId(typeId);
        if (t != null) return t;
        String known = GgmlType.describeId(typeId);
        throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id " + typeId
                + (known.equals("unknown type") ? ", which no ggml version defines" : " (" + known
                + "), which Ternion does not read"));
    }

    /**
     * Id 42 is upstream's Q2_0 in blocks of 64 (18 bytes) and, in the PrismML fork's first Ternary
     * Bonsai files, the same codes in blocks of 128 (34 bytes). A layout fits when the tensor needs
     * no more than the bytes its offsets leave and less than an alignment fewer (ggml pads each
     * tensor only to the alignment). The two differ by elements/64 bytes, so only tensors of fewer
     * than 64·alignment elements can fit both; those follow the file's largest type-42 tensor, or
     * upstream's meaning of the id when nothing in the file tells.
     */
    private static GgmlType q2_0(Context ctx, long infoOffset, String name, long elements, long span) {
        boolean g64 = fits(GgmlType.Q2_0, elements, span, ctx.alignment());
        boolean g128 = fits(GgmlType.Q2_0_128, elements, span, ctx.alignment());
        if (g64 && !g128) return GgmlType.Q2_0;
        if (g128 && !g64) return GgmlType.Q2_0_128;
        if (g64) return ctx.q2Layout() != null ? ctx.q2Layout() : GgmlType.Q2_0;
        throw new GgufFormatException(ctx.source(), infoOffset, "tensor '" + name + "' has type id 42 (Q2_0) and "
                + elements + " elements, which need " + need(GgmlType.Q2_0, elements) + " bytes as upstream's Q2_0"
                + " (blocks of 64, 18 bytes each) or " + need(GgmlType.Q2_0_128, elements) + " bytes as the PrismML"
                + " fork's Q2_0 (blocks of 128, 34 bytes each); the file leaves " + span + " bytes for it, so it is neither");
    }

    /** The Q2_0 layout that {@code elements} alone fit in {@code span}, or null when both or neither do. */
    static GgmlType q2_0Layout(long elements, long span, long alignment) {
        boolean g64 = fits(GgmlType.Q2_0, elements, span, alignment), g128 = fits(GgmlType.Q2_0_128, elements, span, alignment);
        return g64 == g128 ? null : g64 ? GgmlType.Q2_0 : GgmlType.Q2_0_128;
    }

    private static boolean fits(GgmlType t, long elements, long span, long alignment) {
        long need = need(t, elements);
        return elements % t.blockSize == 0 && span >= need && span - need < alignment;
    }

    private static long need(GgmlType t, long elements) {
        return elements / t.blockSize * t.blockBytes + (elements % t.blockSize != 0 ? t.blockBytes : 0);
    }
}
