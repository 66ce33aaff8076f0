package io.ternion.kernels.cpu;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.OR;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * TQ2_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[64], fp16 d}; byte m of half h holds
 * elements 128h + m + 32n at bits 2n, code c meaning (c − 1)·d. Run as {@link TernaryKernel}
 * describes ({@code ggml_vec_dot_tq2_0_q8_K}).
 */
final class TQ2_0MatMul extends TernaryKernel {
    private static final int QK = 256, BYTES = 66;
    /** One half block: 128 codes, four fields of 32. */
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;

    @Override GgmlType type() { return GgmlType.TQ2_0; }

    @Override boolean scaled() { return true; }

    @Override
    TernaryPanels.Source source(Tensor w) {
        MemorySegment data = w.data();
        int blocks = Math.toIntExact(w.rowLength() / QK);
        return new TernaryPanels.Source() {
            final byte[] bytes = new byte[blocks * BYTES];

            @Override
            public void codes(int r, byte[] codes, int off) {
                MemorySegment.copy(data, Numbers.BYTE, (long) r * bytes.length, bytes, 0, bytes.length);
                ByteVector three = ByteVector.zero(B32);
                for (int i = 0; i < blocks; i++) {
                    for (int h = 0; h < 2; h++) {
                        ByteVector q = ByteVector.fromArray(B32, bytes, i * BYTES + 32 * h);
                        three = q.and(q.lanewise(LSHR, 1)).and((byte) 0x55).or(three); // fresh receiver (Vec.sumsOf32)
                        int e = off + QK * i + 128 * h;
                        q.and((byte) 3).intoArray(codes, e);
                        q.lanewise(LSHR, 2).and((byte) 3).intoArray(codes, e + 32);
                        q.lanewise(LSHR, 4).and((byte) 3).intoArray(codes, e + 64);
                        q.lanewise(LSHR, 6).intoArray(codes, e + 96);
                    }
                }
                if (three.reduceLanes(OR) != 0) throw TernaryKernel.code3(w, r, bytes, BYTES, 64);
            }

            @Override
            public float scale(int r, int c) {
                return Float.float16ToFloat(data.get(Numbers.SHORT, ((long) r * blocks + c) * BYTES + 64));
            }
        };
    }
}
