package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.I2_SCodec;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * I2_S weights (bitnet.cpp, x86 layout): codes 0/1/2 for −1/0/+1, 128-element blocks of 32 bytes,
 * element 32g + m of a block at bits 6 − 2g of byte m; one float scale for the tensor after the
 * codes. Run as {@link TernaryKernel} describes.
 */
final class I2_SMatMul extends TernaryKernel {

    @Override GgmlType type() { return GgmlType.I2_S; }

    @Override boolean scaled() { return false; }

    @Override float tensorScale(Tensor w) { return I2_SCodec.scale(w.data()); }

    @Override
    TernaryPanels.Source source(Tensor w) {
        MemorySegment data = w.data();
        int k = Math.toIntExact(w.rowLength());
        return new TernaryPanels.Source() {
            @Override
            public void codes(int r, byte[] codes) {
                long base = (long) r * (k / 4);
                int three = 0;
                for (int blk = 0; blk < k / 128; blk++) {
                    for (int m = 0; m < 32; m++) {
                        int q = data.get(Numbers.BYTE, base + 32L * blk + m) & 0xFF;
                        three |= q & (q >> 1) & 0x55;
                        int e = 128 * blk + m;
                        codes[e] = (byte) (q >> 6);
                        codes[e + 32] = (byte) ((q >> 4) & 3);
                        codes[e + 64] = (byte) ((q >> 2) & 3);
                        codes[e + 96] = (byte) (q & 3);
                    }
                }
                if (three != 0) throw TernaryKernel.code3(w, r);
            }

            @Override public float scale(int r, int c) { throw new UnsupportedOperationException(); }
        };
    }
}
