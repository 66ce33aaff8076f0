package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A cache of each KV type holds what the type's codec gives back, position by position. */
class KvCacheTest {
    @ParameterizedTest
    @EnumSource(KvType.class)
    void storesReadsAndRewritesOnePositionThroughTheCodec(KvType type) {
        int kvHeads = 3, headDim = 80, kvDim = kvHeads * headDim;
        KvCache cache = new KvCache(2, 2, 5, kvHeads, headDim, new KvTypes(type, KvType.Q8_0));
        assertEquals(2L * 2 * 5 * kvHeads * (type.bytesPerHead(headDim) + KvType.Q8_0.bytesPerHead(headDim)), cache.bytes());
        SplittableRandom rnd = Inputs.random(type.id());
        float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim), got = new float[kvDim + 1];
        cache.store(1, 1, 4, k, 0, v, 0);
        cache.readKeys(1, 1, 4, got, 1);
        assertArrayEquals(ConformanceTable.storedAs(type, k, headDim), java.util.Arrays.copyOfRange(got, 1, got.length));
        cache.readValues(1, 1, 4, got, 0);
        assertArrayEquals(ConformanceTable.storedAs(KvType.Q8_0, v, headDim), java.util.Arrays.copyOf(got, kvDim));
        // A K-shift's path: read, change, write back; the neighbours stay as they were.
        cache.store(1, 1, 3, v, 0, k, 0);
        float[] shifted = Inputs.floats(rnd, kvDim);
        cache.writeKeys(1, 1, 4, shifted, 0);
        cache.readKeys(1, 1, 4, got, 0);
        assertArrayEquals(ConformanceTable.storedAs(type, shifted, headDim), java.util.Arrays.copyOf(got, kvDim));
        cache.readKeys(1, 1, 3, got, 0);
        assertArrayEquals(ConformanceTable.storedAs(type, v, headDim), java.util.Arrays.copyOf(got, kvDim));
        assertThrows(IndexOutOfBoundsException.class, () -> cache.readKeys(1, 2, 0, got, 0));
    }

    @ParameterizedTest
    @EnumSource(value = KvType.class, names = {"Q4_0", "TURBO4", "TURBO3"})
    void anOddHeadSizeIsRefusedByName(KvType type) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 1, 4, 1, 7, new KvTypes(KvType.F16, type)));
        assertTrue(e.getMessage().contains(type.id()), e.getMessage());
    }
}
