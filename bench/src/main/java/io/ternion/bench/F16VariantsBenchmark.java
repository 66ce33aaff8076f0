package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.Weights;
import io.ternion.kernels.cpu.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The F16 matvec variants we measured before choosing the kernel in kernels-cpu (F16MatMul, here
 * {@code kernel}), at {@link MatVecBenchmark}'s 2560x6912 shape and working set. The Vector API has
 * no half type, so the halves are widened either in registers with integer operations, or by a
 * scalar {@code Float.float16ToFloat} loop that C2 may vectorize (vcvtph2ps) into a scratch row.
 * Time per matvec; weights are 35.4 MB, so GB/s = 35.4 / ms.
 *
 * <p>Issue #19 (tied F16 head of 2B4T compute-bound at one thread): {@code kernel} is now the
 * finite-only kernel, chosen at prepare by a scan for exponent-31 halves ({@code scanAtPrepare});
 * {@code kernelExact} is what a tensor holding ∞ or NaN keeps. One run (1 / 2 threads, ms, load
 * average 5–6 on 2 vCPUs shared with other builds): kernel 1.74 / 1.68, kernelExact 2.60 / 2.79,
 * vectorExact 2.58 / 2.30; allocation 54–190 bytes per matvec for every row (the pool's hand-off,
 * not the vectors: one allocated vector per step would be megabytes).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class F16VariantsBenchmark {
    static final int K = 2560, N = 6912; // the FFN gate/up shape, MatVecBenchmark's 2560x6912
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    @Param({"1", "2"})
    int threads;

    private Arena arena;
    private Tensor[] weights;
    private Weights[] prepared, withInfinity;
    private WorkerPool pool;
    private final float[] x = BenchWeights.activations(K, 7);
    private final float[] y = new float[N];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        weights = BenchWeights.copies(arena, GgmlType.F16, K, N, 42);
        pool = new WorkerPool(threads);
        prepared = new Weights[weights.length];
        for (int i = 0; i < weights.length; i++) prepared[i] = MatMul.prepare(weights[i], pool);
        withInfinity = new Weights[weights.length];
        for (int i = 0; i < weights.length; i++) {
            MemorySegment copy = arena.allocate(weights[i].data().byteSize(), 4096).copyFrom(weights[i].data());
            copy.set(Numbers.SHORT, copy.byteSize() - 2, (short) 0x7c00); // +∞, the last row's last weight
            withInfinity[i] = MatMul.prepare(new Tensor("inf" + i, GgmlType.F16, new long[] {K, N}, copy), pool);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    private int nextIndex() {
        int i = next;
        next = next + 1 == weights.length ? 0 : next + 1;
        return i;
    }

    private MemorySegment nextWeights() {
        return weights[nextIndex()].data();
    }

    /**
     * The kernel in use, prepared as the CPU backend prepares weights: these hold no ±∞ or NaN, so
     * F16MatMul.Finite (Vec.finiteHalfToFloat: shift, mask, multiply by 2^112; four operations).
     * A tensor holding one runs the exact F16MatMul, {@link #vectorExact} here.
     */
    @Benchmark
    public float[] kernel() {
        return multiply(prepared);
    }

    /** The kernel as prepared for a tensor holding one +∞: the exact F16MatMul (Vec.halfToFloat), {@link #vectorExact}'s loop. */
    @Benchmark
    public float[] kernelExact() {
        return multiply(withInfinity);
    }

    private float[] multiply(Weights[] copies) {
        MatMul.matmul(copies[nextIndex()], x, 0, 1, y, 0, pool);
        return y;
    }

    /**
     * What choosing the kernel costs at load: MatMul.prepare of an F16 tensor reads it once for
     * halves of exponent 31 (a load, an AND and a MAX per vector).
     */
    @Benchmark
    public Weights scanAtPrepare() {
        return MatMul.prepare(weights[nextIndex()], pool);
    }

    /**
     * In registers, exact for every half (F16MatMul's own loop, Vec.halfToFloat): multiply by 2^112,
     * masked fix-up for ±∞/NaN, ten operations. The kernel for every F16 tensor until the finite
     * one, and still for tensors that hold ∞ or NaN.
     */
    @Benchmark
    public float[] vectorExact() {
        return inRegisters(4);
    }

    /** In registers, finite halves only (Vec.finiteHalfToFloat), in this class's loop: {@link #kernel}'s conversion. */
    @Benchmark
    public float[] vectorFiniteOnly() {
        return inRegisters(5);
    }

    /**
     * In registers, exact, and never forming a subnormal float (the kernel forms them for subnormal
     * halves, which some Intel cores handle in slow microcode): integer rebias, then masked
     * fix-ups for exponent 0 (float subtract of 2^-14) and 31. 14 operations instead of 10.
     */
    @Benchmark
    public float[] vectorNoSubnormalFloats() {
        return inRegisters(0);
    }

    /** In registers, exact, with blends for subnormal and infinite lanes (the first kernel). */
    @Benchmark
    public float[] vectorBlends() {
        return inRegisters(1);
    }

    /**
     * In registers: normal halves only (three operations), and a branch to the exact conversion for
     * a vector holding a zero, subnormal, ∞ or NaN. Its speed depends on the data, and it is only
     * fast when C2 inlines both paths.
     */
    @Benchmark
    public float[] vectorBranchOnSpecial() {
        return inRegisters(2);
    }

    /** In registers, normal halves only: wrong for zeros and subnormals; the upper bound of the integer approach. */
    @Benchmark
    public float[] vectorNormalsOnlyInexact() {
        return inRegisters(3);
    }

    private float[] inRegisters(int variant) {
        MemorySegment w = nextWeights();
        pool.parallelFor(N, (from, to) -> {
            for (int r = from; r < to; r++) {
                long base = 2L * K * r;
                FloatVector a0 = FloatVector.zero(F), a1 = a0;
                int j = 0;
                // The same loop shape as the kernel: the byte offset is the loop variable.
                for (long o = base, end = base + 2L * K; o < end; o += 4L * L, j += 2 * L) {
                    ShortVector h0 = ShortVector.fromMemorySegment(S, w, o, LE);
                    ShortVector h1 = ShortVector.fromMemorySegment(S, w, o + 2L * L, LE);
                    a0 = widen(h0, variant).fma(FloatVector.fromArray(F, x, j), a0);
                    a1 = widen(h1, variant).fma(FloatVector.fromArray(F, x, j + L), a1);
                }
                y[r] = a0.add(a1).reduceLanes(VectorOperators.ADD);
            }
        });
        return y;
    }

    private static FloatVector widen(ShortVector h16, int variant) {
        return switch (variant) {
            case 0 -> noSubnormalFloats(h16);
            case 1 -> withBlends(h16);
            case 2 -> special(h16) ? withBlends(h16) : normal(h16);
            case 4 -> exact(h16);
            case 5 -> finite(h16);
            default -> normal(h16);
        };
    }

    private static FloatVector noSubnormalFloats(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).add(112 << 23);
        ShortVector exp = h16.and((short) 0x7c00);
        VectorMask<Integer> subnormal = exp.compare(VectorOperators.EQ, (short) 0).cast(I);
        VectorMask<Integer> infNan = exp.compare(VectorOperators.EQ, (short) 0x7c00).cast(I);
        bits = bits.lanewise(VectorOperators.ADD, 1 << 23, subnormal).lanewise(VectorOperators.ADD, 112 << 23, infNan);
        IntVector sign = bits.and(0x80000000);
        FloatVector f = bits.reinterpretAsFloats()
                .lanewise(VectorOperators.SUB, sign.or(0x38800000).reinterpretAsFloats(), subnormal.cast(F));
        return f.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** Vec.halfToFloat, copied (Vec is package-private to kernels-cpu). */
    private static FloatVector exact(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> infNan = h16.and((short) 0x7c00).compare(VectorOperators.EQ, (short) 0x7c00).cast(I);
        IntVector bits = magnitude.lanewise(VectorOperators.OR, 0x7f800000, infNan);
        return bits.or(h.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats();
    }

    /** Vec.finiteHalfToFloat, copied. */
    private static FloatVector finite(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f);
    }

    private static FloatVector withBlends(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        IntVector em = h.and(0x7fff);
        IntVector bits = em.lanewise(VectorOperators.LSHL, 13).add(112 << 23);
        FloatVector sub = bits.add(1 << 23).reinterpretAsFloats().sub(0x1p-14f);
        bits = bits.blend(sub.reinterpretAsInts(), em.compare(VectorOperators.LT, 0x0400));
        bits = bits.blend(bits.add(112 << 23), em.compare(VectorOperators.GE, 0x7c00));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private static boolean special(ShortVector h16) {
        return h16.add((short) 0x0400).and((short) 0x7800).compare(VectorOperators.EQ, (short) 0).anyTrue();
    }

    private static FloatVector normal(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000).add(112 << 23).reinterpretAsFloats();
    }

    /** Scalar float16ToFloat straight from the segment into a scratch row, then a vector dot. */
    @Benchmark
    public float[] scalarConvertFromSegment() {
        MemorySegment w = nextWeights();
        pool.parallelFor(N, (from, to) -> {
            float[] row = new float[K];
            for (int r = from; r < to; r++) {
                long base = 2L * K * r;
                // An int loop variable: with a long one (as the Vector API kernels want) C2 does not
                // vectorize this loop, and it runs 4× slower.
                for (int j = 0; j < K; j++) row[j] = Float.float16ToFloat(w.get(Numbers.SHORT, base + 2L * j));
                y[r] = dot(row, x);
            }
        });
        return y;
    }

    /**
     * Bulk copy of the row's halves to a short[], then a scalar float16ToFloat loop over arrays (a
     * shape C2 vectorizes), then a vector dot.
     */
    @Benchmark
    public float[] copyThenConvertArray() {
        MemorySegment w = nextWeights();
        pool.parallelFor(N, (from, to) -> {
            short[] halves = new short[K];
            float[] row = new float[K];
            for (int r = from; r < to; r++) {
                MemorySegment.copy(w, Numbers.SHORT, 2L * K * r, halves, 0, K);
                for (int j = 0; j < K; j++) row[j] = Float.float16ToFloat(halves[j]);
                y[r] = dot(row, x);
            }
        });
        return y;
    }

    /** Fully scalar: C2 does not vectorize a float sum (it may not reorder it). */
    @Benchmark
    public float[] scalarFused() {
        MemorySegment w = nextWeights();
        pool.parallelFor(N, (from, to) -> {
            for (int r = from; r < to; r++) {
                long base = 2L * K * r;
                float s = 0;
                for (int j = 0; j < K; j++) s += Float.float16ToFloat(w.get(Numbers.SHORT, base + 2L * j)) * x[j];
                y[r] = s;
            }
        });
        return y;
    }

    private static float dot(float[] a, float[] b) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int j = 0; j < K; j += 2 * L) {
            a0 = FloatVector.fromArray(F, a, j).fma(FloatVector.fromArray(F, b, j), a0);
            a1 = FloatVector.fromArray(F, a, j + L).fma(FloatVector.fromArray(F, b, j + L), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
