package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import io.ternion.kernels.cpu.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * Weight matrices for the kernel benchmarks, off-heap like a mapped model file. A single matrix of
 * the BitNet 2B4T FFN shape (18–71 MB) would partly sit in the 32 MiB L3 and measure the cache, not
 * memory, so there are enough copies to make the working set at least {@link #WORKING_SET} bytes and
 * each call reads the next copy, as a decode step reads one layer after another.
 */
final class BenchWeights {
    private BenchWeights() {}

    /**
     * The BitNet b1.58 2B4T matrix shapes, as K×N (row length × rows, ggml's order as {@code ternion
     * info} prints it): attention q/o 2560×2560, FFN gate/up 2560×6912, FFN down 6912×2560, and the
     * 128256-token output head 2560×128256.
     */
    static int[] shape(String kxn) {
        String[] kn = kxn.split("x");
        return new int[] {Integer.parseInt(kn[0]), Integer.parseInt(kn[1])};
    }

    /**
     * The bytes a call reads: the repacked copy's where there is one, else the tensor's. The ternary
     * panels hold 1.81 bits a weight where TQ2_0's file has 2.06 and I2_S's 2: counted in file bytes,
     * their kernels seemed to read 10–14% faster than the probe could.
     */
    static long streamedBytes(Weights w) {
        return w.residentBytes() > 0 ? w.residentBytes() : w.tensor().data().byteSize();
    }

    /** 8× a 32 MiB L3. */
    static final long WORKING_SET = 256L << 20;

    /**
     * GGUF aligns tensors to 32 bytes, so in a mapped file a tensor starts at 0 or 32 mod 64 and half
     * of the 64-byte vector loads may straddle two cache lines: 32 is the realistic case.
     * {@code -jvmArgsAppend "--add-modules jdk.incubator.vector -Dternion.bench.offset=N"} measures others.
     */
    private static final int OFFSET = Integer.getInteger("ternion.bench.offset", 32);

    static Tensor[] copies(Arena arena, GgmlType type, int k, int n, long seed) {
        byte[] one = bytes(type, k, n, new SplittableRandom(seed));
        int copies = (int) Math.max(1, (WORKING_SET + one.length - 1) / one.length);
        Tensor[] t = new Tensor[copies];
        for (int c = 0; c < copies; c++) {
            MemorySegment seg = arena.allocate(one.length + 4096L, 4096).asSlice(OFFSET, one.length);
            seg.copyFrom(MemorySegment.ofArray(one));
            t[c] = new Tensor("w" + c, type, new long[] {k, n}, seg);
        }
        return t;
    }

    /**
     * A matrix quantized from N(0, 0.02²) values (the spread of real LLM weights, which matters for
     * F16: about 0.2% of such weights are subnormal halves) where gguf has a quantizer; else random
     * blocks with sane scales. The ternary formats get what a BitNet converter hands their quantizers,
     * those values rounded to −s, 0, +s with one s (the mean |w|) for the matrix: so every TQ block
     * has the same scale, as in a real converted model, which the kernel uses.
     */
    static byte[] bytes(GgmlType type, int k, int n, SplittableRandom rnd) {
        int elements = k * n;
        if (type.canQuantize()) {
            float[] v = new float[elements];
            double sum = 0;
            for (int i = 0; i < elements; i++) sum += Math.abs(v[i] = (float) (gaussian(rnd) * 0.02));
            if (type.isTernary()) {
                float s = (float) (sum / elements);
                for (int i = 0; i < elements; i++) v[i] = s * Math.max(-1, Math.min(1, Math.round(v[i] / s)));
            }
            return type.quantize(v);
        }
        byte[] b = new byte[(int) type.byteSize(elements)];
        rnd.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        for (long o = 0; o < b.length; o += type.blockBytes) {
            switch (type) {
                case Q4_0 -> s.set(Numbers.SHORT, o, Numbers.floatToHalf(0.1f));
                case Q4_K -> {
                    s.set(Numbers.SHORT, o, Numbers.floatToHalf(0.01f));
                    s.set(Numbers.SHORT, o + 2, Numbers.floatToHalf(0.01f));
                }
                case Q6_K -> s.set(Numbers.SHORT, o + 208, Numbers.floatToHalf(0.001f));
                default -> throw new IllegalArgumentException("no generator for " + type);
            }
        }
        return b;
    }

    private static double gaussian(SplittableRandom rnd) {
        return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
