package io.ternion.graph;

import java.util.Objects;

/** The types of a KV cache's keys and values (llama.cpp's {@code -ctk} and {@code -ctv}). */
public record KvTypes(KvType key, KvType value) {
    /** llama.cpp's default, and what {@link Backend#compile(Graph, int, int, int)} gives. */
    public static final KvTypes F16 = new KvTypes(KvType.F16, KvType.F16);

    public KvTypes {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
    }

    public boolean isF16() { return key == KvType.F16 && value == KvType.F16; }

    /** Refuses a head size either type cannot store. */
    public void checkHeadDim(int headDim) {
        key.checkHeadDim(headDim);
        value.checkHeadDim(headDim);
    }

    /** Bytes of K and V of one position of one layer. */
    public long bytesPerPosition(int kvHeads, int headDim) {
        return key.bytesPerPosition(kvHeads, headDim) + value.bytesPerPosition(kvHeads, headDim);
    }

    /** "K q8_0, V f16", or "f16" when both are. */
    @Override
    public String toString() {
        return key == value ? key.id() : "K " + key.id() + ", V " + value.id();
    }
}
