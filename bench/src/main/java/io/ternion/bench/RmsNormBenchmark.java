package io.ternion.bench;

import io.ternion.kernels.cpu.Ops;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RMSNorm with its weight over hidden vectors of the BitNet 2B4T width (2560), one row (decode) or
 * a prompt batch of 512 rows (5 MB), one thread as the cpu backend runs it. The {@code bytes}
 * counter is x read plus the output written, per second; both sizes stay in cache, so the fraction
 * of the memory probe can pass 1.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class RmsNormBenchmark {
    static final int DIM = 2560;

    @Param({"1", "512"})
    int rows;

    private float[] x, out;
    private final float[] weight = BenchWeights.activations(DIM, 5);

    @Setup
    public void setUp() {
        x = BenchWeights.activations(rows * DIM, 7);
        out = new float[rows * DIM];
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Moved {
        public long bytes;
    }

    @Benchmark
    public float[] rmsNorm(Moved moved) {
        for (int r = 0; r < rows; r++) Ops.rmsNorm(out, r * DIM, x, r * DIM, weight, 0, DIM, 1e-5f);
        moved.bytes += 2L * rows * DIM * Float.BYTES;
        return out;
    }
}
