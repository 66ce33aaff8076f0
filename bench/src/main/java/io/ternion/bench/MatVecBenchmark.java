package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.harness.ReadBandwidth;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.Weights;
import io.ternion.kernels.cpu.WorkerPool;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Decode matvec (batch 1) for every weight type at the BitNet 2B4T shapes ({@link BenchWeights#shape}),
 * weights off-heap at a GGUF-like 32-byte alignment, in enough copies to overflow the L3 (see
 * {@link BenchWeights}). The {@code weightBytes} counter is the weight-streaming rate in bytes/s (of the
 * repacked copy where a kernel has one); {@link KernelReport} divides it by {@link BandwidthProbe}'s
 * at the same thread count, and each iteration's by the probe measured in the same JVM right before
 * it ({@link Paired}), the figure that pairs the same seconds of a shared host.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatVecBenchmark {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "I2_S", "TQ2_0", "TQ1_0", "Q1_0", "Q2_0", "Q2_0_128"})
    String type;

    @Param({"2560x2560", "2560x6912", "6912x2560", "2560x128256"})
    String shape;

    @Param({"1", "2"})
    int threads;

    private Arena arena;
    private ReadBandwidth probe;
    private Weights[] weights;
    private WorkerPool pool;
    private float[] x, y;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        int[] kn = BenchWeights.shape(shape);
        arena = Arena.ofShared();
        probe = new ReadBandwidth();
        pool = new WorkerPool(threads);
        // Prepared once, as a backend does at load (the ternary and binary formats are repacked).
        Tensor[] copies = BenchWeights.copies(arena, GgmlType.parse(type), kn[0], kn[1], 42);
        weights = new Weights[copies.length];
        for (int i = 0; i < copies.length; i++) weights[i] = MatMul.prepare(copies[i], pool);
        x = BenchWeights.activations(kn[0], 7);
        y = new float[kn[1]];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
        probe.close();
    }

    /** Bytes of weights read ({@link BenchWeights#streamedBytes}), reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Streamed {
        public long weightBytes;
    }

    /**
     * The probe's bytes/s ({@link ReadBandwidth#measure}, one pass of each pattern), measured before
     * each iteration outside its timing: one value per iteration, which {@link KernelReport} divides
     * that iteration's {@code weightBytes} rate by.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Paired {
        public long probeBytesPerSecond;
        /** The figure, set by each call: JMH zeroes the counter after this setup. */
        long measured;

        @Setup(Level.Iteration)
        public void measure(MatVecBenchmark b) {
            measured = (long) b.probe.measure(b.pool, 0, 1);
        }
    }

    @Benchmark
    public float[] matvec(Streamed streamed, Paired paired) {
        Weights w = weights[next];
        next = next + 1 == weights.length ? 0 : next + 1;
        MatMul.matmul(w, x, 0, 1, y, 0, pool);
        streamed.weightBytes += BenchWeights.streamedBytes(w);
        paired.probeBytesPerSecond = paired.measured;
        return y;
    }
}
