package io.ternion.bench;

import io.ternion.harness.ReadBandwidth;
import io.ternion.kernels.cpu.WorkerPool;
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
 * Read bandwidth ({@link ReadBandwidth}: a Vector API sum over 1 GiB off-heap, split over the same
 * worker pool the kernels use), in each of its patterns. The {@code bytes} counter (bytes/s) of the
 * faster pattern is the roofline a kernel's bytes/s counter is measured against; {@link KernelReport}
 * divides them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class BandwidthProbe {
    @Param({"1", "2"})
    int threads;

    @Param({"ROWS", "STREAMS"})
    ReadBandwidth.Pattern pattern;

    private ReadBandwidth probe;
    private WorkerPool pool;

    @Setup(Level.Trial)
    public void setUp() {
        probe = new ReadBandwidth();
        pool = new WorkerPool(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        probe.close();
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Read {
        public long bytes;
    }

    @Benchmark
    public float sum(Read read) {
        read.bytes += ReadBandwidth.SIZE;
        return probe.sum(pool, pattern);
    }
}
