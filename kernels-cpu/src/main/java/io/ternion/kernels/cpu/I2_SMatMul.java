package io.ternion.kernels.cpu;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.OR;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.I2_SCodec;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * I2_S weights (bitnet.cpp, x86 layout): codes 0/1/2 for −1/0/+1, 128-element blocks of 32 bytes,
 * element 32g + m of a block at bits 6 − 2g of byte m; one float scale for the tensor after the
 * codes. Run as {@link TernaryKernel} describes.
 */
final class I2_SMatMul extends TernaryKernel {
    /** One 32-byte block: 128 codes, four fields of 32. */
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;

    @Override GgmlType type() { return GgmlType.I2_S; }

    @Override boolean scaled() { return false; }

    @Override float tensorScale(Tensor w) { return I2_SCodec.scale(w.data()); }

    @Override
    TernaryPanels.Source source(Tensor w) {
        MemorySegment data = w.data();
        int k = Math.toIntExact(w.rowLength());
        return new TernaryPanels.Source() {
            final byte[] bytes = new byte[k / 4];

            @Override
            public void codes(int r, byte[] codes, int off) {
                MemorySegment.copy(data, Numbers.BYTE, (long) r * bytes.length, bytes, 0, bytes.length);
                ByteVector three = ByteVector.zero(B32);
                for (int o = 0; o < bytes.length; o += 32) {
                    ByteVector q = ByteVector.fromArray(B32, bytes, o);
                    three = q.and(q.lanewise(LSHR, 1)).and((byte) 0x55).or(three); // fresh receiver (Vec.sumsOf32)
                    int e = off + 4 * o;
                    q.lanewise(LSHR, 6).intoArray(codes, e);
                    q.lanewise(LSHR, 4).and((byte) 3).intoArray(codes, e + 32);
                    q.lanewise(LSHR, 2).and((byte) 3).intoArray(codes, e + 64);
                    q.and((byte) 3).intoArray(codes, e + 96);
                }
                if (three.reduceLanes(OR) != 0) throw TernaryKernel.code3(w, r, bytes, 32, 32);
            }

            @Override public float scale(int r, int c) { throw new UnsupportedOperationException(); }
        };
    }
}
