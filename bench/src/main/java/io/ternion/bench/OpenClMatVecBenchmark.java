package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.kernels.gpu.ClBuffer;
import io.ternion.kernels.gpu.ClContext;
import io.ternion.kernels.gpu.ClDevice;
import io.ternion.kernels.gpu.ClOps;
import io.ternion.kernels.gpu.ClOps.Activations;
import io.ternion.kernels.gpu.ClWeights;
import io.ternion.kernels.gpu.Launch;
import io.ternion.kernels.gpu.Launch.Rows;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
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
 * The OpenCL backend's decode matvec (activation quantization included, as the backend runs it) for
 * every weight type at the BitNet 2B4T shapes, on the device {@code -Dternion.bench.device=N}
 * (default 0, as {@code ternion devices} numbers them); each invocation waits for the device. The
 * {@code weightBytes} counter is the weight-streaming rate; on a GPU compare it with the device's
 * memory bandwidth, not with the host's probe. Without an OpenCL device the setup fails and says so.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OpenClMatVecBenchmark {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "I2_S", "TQ2_0", "TQ1_0", "Q1_0", "Q2_0", "Q2_0_128"})
    String type;

    @Param({"2560x2560", "2560x6912", "6912x2560", "2560x128256"})
    String shape;

    private Arena arena;
    private ClContext ctx;
    private List<Launch> launches;
    private long bytes;

    @Setup(Level.Trial)
    public void setUp() {
        List<ClDevice> devices = ClDevice.list();
        int index = Integer.getInteger("ternion.bench.device", 0);
        if (index >= devices.size()) throw new IllegalStateException("no OpenCL device " + index + " (" + devices.size() + " found)");
        int[] kn = BenchWeights.shape(shape);
        arena = Arena.ofShared();
        Tensor w = BenchWeights.copies(arena, GgmlType.parse(type), kn[0], kn[1], 42)[0];
        ctx = ClContext.create(devices.get(index));
        ClOps ops = new ClOps(ctx);
        ClWeights dw = ops.upload(w);
        ClBuffer x = ctx.upload(BenchWeights.activations(kn[0], 7)), y = ctx.buffer(4L * kn[1]);
        Activations a = Activations.of(dw.type());
        // One token (slot 0, position 0) whose logits are wanted, as the backend's step buffer holds it.
        ClBuffer step = ctx.upload(MemorySegment.ofArray(new int[] {1, 1, 0, 0, 0, 0}));
        if (a == Activations.FLOAT) {
            launches = List.of(ops.matVec(dw, x, y, step, Rows.TOKENS, false));
        } else {
            ClBuffer q = ctx.buffer(kn[0]), qd = ctx.buffer(4L * Math.max(1, a.scales(kn[0], 1)));
            launches = List.of(ops.quantize(a, x, q, qd, kn[0], Rows.TOKENS), ops.matVecQuantized(dw, q, qd, y, step, Rows.TOKENS, false));
        }
        bytes = w.data().byteSize();
        ctx.finish();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ctx.close();
        arena.close();
    }

    /** Bytes of weights read, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Streamed {
        public long weightBytes;
    }

    @Benchmark
    public void matvec(Streamed streamed) {
        for (Launch l : launches) l.run(1);
        ctx.finish();
        streamed.weightBytes += bytes;
    }
}
