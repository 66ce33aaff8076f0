package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Any type with a scalar dequantize in the gguf module: decode a row with the reference, then a
 * vector dot. Used for the block formats where the block kernels cannot run (vectors of 4 floats,
 * see {@link Vec#BLOCK_KERNELS}); correct everywhere, several times slower.
 */
final class ScalarKernel implements RowKernel {
    private final GgmlType type;
    private final ThreadLocal<float[]> row = ThreadLocal.withInitial(() -> new float[0]);

    ScalarKernel(GgmlType type) { this.type = type; }

    @Override public GgmlType type() { return type; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        float[] tmp = row.get();
        if (tmp.length < k) row.set(tmp = new float[k]);
        for (int r = from; r < to; r++) {
            type.dequantize(w, (long) r * k, tmp, 0, k);
            y[yOff + r] = Vec.dot(tmp, 0, x, xOff, k);
        }
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        type.dequantize(w, (long) from * k, out, outOff, (to - from) * k);
    }
}
