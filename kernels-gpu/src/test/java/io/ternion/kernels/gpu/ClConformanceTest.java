package io.ternion.kernels.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.RopeScaling;
import io.ternion.graph.conformance.ConformanceTable.Case;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import io.ternion.graph.conformance.KernelOp;
import io.ternion.graph.conformance.Reference;
import io.ternion.graph.Batch;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.kernels.gpu.Launch.Rows;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.WorkerPool;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row of the shared conformance table that has an OpenCL kernel, run on the test device and
 * held to the same tolerance against the same references as the CPU kernels; the matmuls in both
 * work layouts (16 lanes per row as on GPUs, one row per work-item as on CPU devices), so PoCL in CI
 * runs the code path real GPUs take. Quantized-activation
 * matmuls are also compared with the CPU kernel directly: their integer sums are exact, so the two
 * backends may differ only by float roundings. Ops the GPU backend does not have as kernels of their
 * own (softmax, mul: inside attention and nowhere) and the F32 KV cache (the GPU cache is F16 or a KvType) are
 * not rows here.
 */
class ClConformanceTest {
    /** Whether the GPU backend has a kernel of its own for the op: every op is named, so a new one fails to compile until it is decided here. */
    private static boolean onGpu(KernelOp op) {
        return switch (op) {
            case MATMUL, GET_ROW, RMS_NORM, SWIGLU, RELU2_GLU, ADD, ROPE, ROPE_NEOX, ROPE_LINEAR, ROPE_YARN, ATTENTION, ATTENTION_GQA4, KV_SHIFT, KV_SHIFT_NEOX,
                    ATTENTION_KV -> true;
            // Inside the attention kernel and the fused norms, not kernels of their own.
            case SOFTMAX, MUL, RMS_NORM_UNWEIGHTED -> false;
        };
    }
    private static ClContext ctx;
    /** The GPU layout (lanes of a work-group share each matvec row) and the CPU-device one (a row per work-item). */
    private static ClOps gpuLayout, cpuLayout;
    private static ClOps ops;
    /** Built by the first case that needs it: a program build takes seconds on PoCL. */
    private static ClOps tuned;
    private static WorkerPool pool;

    @BeforeAll
    static void open() {
        ctx = ClContext.create(OpenClTestDevice.require());
        gpuLayout = new ClOps(ctx, 16);
        cpuLayout = new ClOps(ctx, 1);
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void close() {
        if (ctx != null) ctx.close();
        if (pool != null) pool.close();
    }

    /** The table's batches fit one tile of the tiled matmul kernels; 19 tokens take three, the last partial. */
    static Stream<Case> multiTile() {
        return ConformanceTable.of(KernelOp.MATMUL).stream().map(Case::type).distinct().filter(ClOps::supports)
                .map(t -> new Case(KernelOp.MATMUL, t, Math.max(256, t.blockSize), 9, 19, 5e-5));
    }

    static Stream<Arguments> cases() {
        return Stream.concat(ConformanceTable.CASES.stream(), multiTile())
                .filter(c -> onGpu(c.op()))
                // Weight types the OpenCL backend has no kernels for are the CPU's rows only.
                .filter(c -> (c.op() != KernelOp.MATMUL && c.op() != KernelOp.GET_ROW) || ClOps.supports(c.type()))
                .filter(c -> (c.op() != KernelOp.ATTENTION && c.op() != KernelOp.ATTENTION_GQA4) || c.type() == GgmlType.F16)
                .flatMap(c -> c.op() == KernelOp.MATMUL ? Stream.of(Arguments.of(c, "gpu layout"), Arguments.of(c, "cpu layout"))
                        : Stream.of(Arguments.of(c, "gpu layout")));
    }

    @ParameterizedTest(name = "{0} ({1})")
    @MethodSource("cases")
    void conforms(Case c, String layout) {
        ops = layout.equals("gpu layout") ? gpuLayout : cpuLayout;
        switch (c.op()) {
            case MATMUL -> matmul(c);
            case GET_ROW -> getRow(c);
            case RMS_NORM -> rmsNorm(c);
            case SWIGLU, RELU2_GLU -> glu(c, c.op() == KernelOp.SWIGLU);
            case ADD -> add(c);
            case ROPE, ROPE_NEOX, ROPE_LINEAR, ROPE_YARN -> rope(c);
            case ATTENTION, ATTENTION_GQA4 -> attention(c, c.op() == KernelOp.ATTENTION ? 1 : 4);
            case KV_SHIFT, KV_SHIFT_NEOX -> kvShift(c, c.op() == KernelOp.KV_SHIFT_NEOX);
            case ATTENTION_KV -> attentionKv(c, new KvTypes(c.kv(), c.kv()));
            case SOFTMAX, MUL, RMS_NORM_UNWEIGHTED -> fail("no GPU kernel for " + c.op());
        }
        ctx.finish();
    }

    /**
     * A legal but non-default setting from a user's file builds and computes the same: 4 tokens per
     * tile (so 19 tokens take five tiles, the last partial) and 8 rows per work-group.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("multiTile")
    void conformsWithOtherLaunchSettings(Case c, @TempDir Path dir) throws IOException {
        if (tuned == null) {
            ClDevice d = ctx.device();
            Path mine = Files.writeString(dir.resolve("tuned.properties"), "tile = 4\nrows_per_group = 8\n");
            ClSettings s = ClSettings.resolve(d.type(), d.preferredLanes(), d.maxWorkGroupSize(), ClSettingsFiles.forDevice(d.vendor(), d.type(), mine));
            assertEquals(4, s.tile());
            assertEquals(8, s.rowsPerGroup());
            tuned = new ClOps(ctx, s);
        }
        ops = tuned;
        matmul(c);
        ctx.finish();
    }

    /** The fused RMSNorm + quantize gives the very bytes and scales of the two launches it replaces. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = ClOps.Activations.class, names = {"I8_S", "Q8_K", "Q8_0"})
    void fusedNormAndQuantizeEqualsTheSeparateKernels(ClOps.Activations a) {
        int k = 2560, batch = 3;
        SplittableRandom rnd = Inputs.random("fused", a.name());
        float[] x = Inputs.floats(rnd, batch * k), w = Inputs.floats(rnd, k);
        x[5] = 0; // a zero block must stay well defined for Q8_K
        ClBuffer xb = ctx.upload(x), wb = ctx.upload(w);
        long scales = 4 * a.scales(k, batch);
        ClBuffer out1 = ctx.buffer(4L * x.length), q1 = ctx.buffer(x.length), qd1 = ctx.buffer(scales);
        ClBuffer out2 = ctx.buffer(4L * x.length), q2 = ctx.buffer(x.length), qd2 = ctx.buffer(scales);
        gpuLayout.rmsNorm(xb, wb, out1, k, 1e-6f, 1, Rows.TOKENS).run(batch);
        gpuLayout.quantize(a, out1, q1, qd1, k, Rows.TOKENS).run(batch);
        gpuLayout.rmsNormQuantize(xb, wb, out2, k, 1e-6f, a, q2, qd2).run(batch);
        assertArrayEquals(ctx.readFloats(out1, x.length), ctx.readFloats(out2, x.length), "normalised rows");
        assertArrayEquals(bytes(q1, x.length), bytes(q2, x.length), "quantized activations");
        assertArrayEquals(ctx.readFloats(qd1, (int) (scales / 4)), ctx.readFloats(qd2, (int) (scales / 4)), "scales");
        ctx.finish();
    }

    /** The device argmax is the host's: the first of equal maxima, also when they are in different lanes. */
    @org.junit.jupiter.api.Test
    void argmaxTakesTheLowestIndexOfTheLargest() {
        SplittableRandom rnd = Inputs.random("argmax");
        for (int n : new int[] {1, 7, 512, 128256}) {
            float[] x = Inputs.floats(rnd, n);
            if (n > 100) {
                x[n - 3] = 5;
                x[97] = 5;
                x[98] = 5;
            }
            int want = 0;
            for (int i = 1; i < n; i++) if (x[i] > x[want]) want = i;
            ClBuffer out = ctx.buffer(4);
            gpuLayout.argmax(ctx.upload(x), n, out).run(1);
            int[] got = new int[1];
            ctx.read(out, 0, MemorySegment.ofArray(got));
            assertEquals(want, got[0], "n = " + n);
        }
    }

    /** select_outputs gathers the rows the step lists as outputs, in order; with none, the launch enqueues nothing. */
    @org.junit.jupiter.api.Test
    void selectOutputsGathersTheWantedRows() {
        int width = 5, n = 4;
        float[] x = Inputs.floats(Inputs.random("select"), n * width);
        ClBuffer in = ctx.upload(x), out = ctx.upload(new float[n * width]);
        Batch batch = new Batch(new int[n], new int[] {0, 1, 0, 2}, new int[] {0, 0, 1, 0}, new boolean[] {false, true, false, true});
        gpuLayout.selectOutputs(in, out, step(batch), width).run(n, 2, null);
        float[] want = new float[n * width];
        System.arraycopy(x, width, want, 0, width);
        System.arraycopy(x, 3 * width, want, width, width);
        assertArrayEquals(want, ctx.readFloats(out, n * width));

        ClBuffer untouched = ctx.upload(new float[n * width]);
        gpuLayout.selectOutputs(in, untouched, step(new Batch(new int[n], new int[n], new int[] {0, 1, 2, 3}, new boolean[n])), width).run(n, 0, null);
        assertArrayEquals(new float[n * width], ctx.readFloats(untouched, n * width));
    }

    private static byte[] bytes(ClBuffer b, int n) {
        byte[] out = new byte[n];
        ctx.read(b, 0, MemorySegment.ofArray(out));
        return out;
    }

    /** The step buffer of {@code batch}, as the backend writes it. */
    private static ClBuffer step(Batch batch) {
        int[] s = new int[StepLayout.ints(batch.size(), batch.outputCount())];
        StepLayout.write(batch, MemorySegment.ofArray(s));
        ClBuffer b = ctx.buffer(4L * s.length);
        ctx.write(b, 0, MemorySegment.ofArray(s));
        return b;
    }

    /** A step of {@code n} tokens (all 0) of the sequence in {@code slot} from position {@code pos} on. */
    private static ClBuffer step(int n, int pos, int slot) {
        return step(Batch.sequence(new int[n], pos, slot));
    }

    private static void matmul(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        Tensor w = Inputs.weights(rnd, c.type(), c.k(), c.n(), Placement.HEAP);
        float[] x = Inputs.floats(rnd, c.batch() * c.k());
        double[] ref = Reference.matmul(w, x, c.batch());
        ClWeights dw = ops.upload(w);
        // The fused residual form accumulates into y, which starts at 1 + i.
        float[] start = new float[ref.length];
        for (int i = 0; i < start.length; i++) start[i] = 1 + i;
        ClBuffer xb = ctx.upload(x), y = ctx.buffer(4L * ref.length), yAcc = ctx.upload(start), step = step(c.batch(), 0, 0);
        ClOps.Activations a = ClOps.Activations.of(c.type());
        if (a == ClOps.Activations.FLOAT) {
            ops.matVec(dw, xb, y, step, Rows.TOKENS, false).run(c.batch());
            ops.matVec(dw, xb, yAcc, step, Rows.TOKENS, true).run(c.batch());
        } else {
            ClBuffer q = ctx.buffer(x.length), qd = ctx.buffer(4 * Math.max(1, a.scales(c.k(), c.batch())));
            ops.quantize(a, xb, q, qd, c.k(), Rows.TOKENS).run(c.batch());
            ops.matVecQuantized(dw, q, qd, y, step, Rows.TOKENS, false).run(c.batch());
            ops.matVecQuantized(dw, q, qd, yAcc, step, Rows.TOKENS, true).run(c.batch());
        }
        float[] got = ctx.readFloats(y, ref.length), accumulated = ctx.readFloats(yAcc, ref.length);
        ConformanceTable.check(c, "vs reference", got, ref);
        for (int i = 0; i < got.length; i++) assertEquals(start[i] + got[i], accumulated[i], c + ": accumulated output " + i);
        if (a != ClOps.Activations.FLOAT) {
            float[] cpu = new float[ref.length];
            MatMul.matmul(w, x, 0, c.batch(), cpu, 0, pool);
            double[] cpuAsRef = new double[cpu.length];
            for (int i = 0; i < cpu.length; i++) cpuAsRef[i] = cpu[i];
            ConformanceTable.check(c, "vs the cpu kernel", got, cpuAsRef);
        }
    }

    private static void getRow(Case c) {
        Tensor w = Inputs.weights(Inputs.random(c.toString()), c.type(), c.k(), c.n(), Placement.HEAP);
        ClWeights dw = ops.upload(w);
        int[] rows = {c.n() - 1, 0, c.n() / 2};
        ClBuffer out = ctx.buffer(4L * rows.length * c.k());
        ops.embed(dw, step(Batch.sequence(rows, 0, 0)), out).run(rows.length);
        float[] got = ctx.readFloats(out, rows.length * c.k()), want = new float[c.k()];
        for (int i = 0; i < rows.length; i++) {
            w.dequantizeRow(rows[i], want, 0);
            assertArrayEquals(want, Arrays.copyOfRange(got, i * c.k(), (i + 1) * c.k()), c + " row " + rows[i]);
        }
    }

    private static void rmsNorm(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        float[] x = Inputs.floats(rnd, c.batch() * c.k()), w = Inputs.floats(rnd, c.k());
        ClBuffer xb = ctx.upload(x), out = ctx.buffer(4L * x.length);
        ops.rmsNorm(xb, ctx.upload(w), out, c.k(), 1e-6f, 1, Rows.TOKENS).run(c.batch());
        float[] got = ctx.readFloats(out, x.length);
        for (int b = 0; b < c.batch(); b++) {
            double[] ref = Reference.rmsNorm(Arrays.copyOfRange(x, b * c.k(), (b + 1) * c.k()), w, 1e-6f);
            ConformanceTable.check(c, "row " + b, Arrays.copyOfRange(got, b * c.k(), (b + 1) * c.k()), ref);
        }
    }

    private static void glu(Case c, boolean silu) {
        SplittableRandom rnd = Inputs.random(c.toString());
        float[] g = Inputs.floats(rnd, c.k()), u = Inputs.floats(rnd, c.k());
        for (int i = 0; i < g.length; i++) g[i] *= 8;
        double[] ref = silu ? Reference.swiGlu(g, u) : Reference.reluSquaredGlu(g, u);
        ClBuffer out = ctx.buffer(4L * c.k());
        ops.glu(silu, ctx.upload(g), ctx.upload(u), out, c.k()).run(1);
        ConformanceTable.check(c, "", ctx.readFloats(out, c.k()), ref);
    }

    private static void add(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        float[] acc = Inputs.floats(rnd, c.k()), x = Inputs.floats(rnd, c.k());
        double[] ref = new double[c.k()];
        for (int i = 0; i < c.k(); i++) ref[i] = (double) acc[i] + x[i];
        ClBuffer a = ctx.upload(acc);
        ops.add(a, ctx.upload(x), c.k(), Rows.TOKENS).run(1);
        ConformanceTable.check(c, "", ctx.readFloats(a, c.k()), ref);
    }

    private static void rope(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int heads = c.batch(), headDim = c.k(), ropeDims = c.n();
        boolean neox = ConformanceTable.ropeNeox(c.op());
        RopeScaling scaling = ConformanceTable.ropeScaling(c.op());
        for (int pos : ConformanceTable.ROPE_POSITIONS) {
            float[] x = Inputs.floats(rnd, heads * headDim);
            double[] ref = Reference.rope(x, heads, headDim, ropeDims, pos, 10000f, neox, scaling);
            ClBuffer xb = ctx.upload(x);
            ops.rope(xb, step(1, pos, 0), heads, headDim, ropeDims, 10000f, neox, scaling).run(1);
            ConformanceTable.check(c, "pos " + pos, ctx.readFloats(xb, x.length), ref);
        }
    }

    /**
     * Keys and values go in through store_kv (one batch of all positions), queries at the last
     * positions; in slot 1 of a two-slot cache whose slot 0 holds other keys and values, which the
     * queries must not see.
     */
    private static void attention(Case c, int ratio) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int heads = 8, kvHeads = heads / ratio, headDim = c.k(), positions = c.n(), batch = c.batch();
        int kvDim = kvHeads * headDim, qDim = heads * headDim, ctxLen = positions + 3;
        float[][] keys = new float[positions][], values = new float[positions][];
        float[] kAll = new float[positions * kvDim], vAll = new float[positions * kvDim];
        for (int t = 0; t < positions; t++) {
            float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
            System.arraycopy(k, 0, kAll, t * kvDim, kvDim);
            System.arraycopy(v, 0, vAll, t * kvDim, kvDim);
            keys[t] = ConformanceTable.roundToHalf(k);
            values[t] = ConformanceTable.roundToHalf(v);
        }
        float[] q = Inputs.floats(rnd, batch * qDim);
        for (int i = 0; i < q.length; i++) q[i] *= 3;
        float scale = (float) (1 / Math.sqrt(headDim));
        int start = positions - batch;
        double[] ref = referenceAttention(q, keys, values, heads, ratio, headDim, start, batch, scale);
        // Layer 1 of a two-layer cache of two slots, so the layer and slot offsets are exercised.
        long layer = 2L * ctxLen * kvDim;
        ClBuffer kc = ctx.buffer(2 * 2 * layer), vc = ctx.buffer(2 * 2 * layer);
        float[] otherK = Inputs.floats(rnd, kAll.length), otherV = Inputs.floats(rnd, vAll.length);
        ops.storeKv(ctx.upload(otherK), ctx.upload(otherV), kc, vc, step(positions, 0, 0), layer, kvDim, ctxLen).run(positions);
        ops.storeKv(ctx.upload(kAll), ctx.upload(vAll), kc, vc, step(positions, 0, 1), layer, kvDim, ctxLen).run(positions);
        ClBuffer out = ctx.buffer(4L * batch * qDim), scores = ctx.buffer(4L * batch * heads * ctxLen);
        ops.attention(ctx.upload(q), kc, vc, scores, out, step(batch, start, 1), layer, heads, kvHeads, headDim, ctxLen, scale).run(batch);
        ConformanceTable.check(c, "", ctx.readFloats(out, batch * qDim), ref);
    }

    /**
     * kv_shift in slot 1 of layer 1 of a two-slot, two-layer cache filled by store_kv: moved keys
     * re-rotated by −drop, values and kept positions untouched, and slot 0 too.
     */
    private static void kvShift(Case c, boolean neox) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int kvHeads = c.batch(), headDim = c.k(), dims = c.n(), kvDim = kvHeads * headDim;
        for (int[] shift : ConformanceTable.SHIFTS) {
            int keep = shift[0], drop = shift[1], length = shift[2], ctxLen = length + 2;
            float[] kAll = Inputs.floats(rnd, length * kvDim), vAll = Inputs.floats(rnd, length * kvDim), other = Inputs.floats(rnd, length * kvDim);
            long layer = 2L * ctxLen * kvDim;
            ClBuffer kc = ctx.buffer(2 * 2 * layer), vc = ctx.buffer(2 * 2 * layer);
            ops.storeKv(ctx.upload(other), ctx.upload(other), kc, vc, step(length, 0, 0), layer, kvDim, ctxLen).run(length);
            ops.storeKv(ctx.upload(kAll), ctx.upload(vAll), kc, vc, step(length, 0, 1), layer, kvDim, ctxLen).run(length);
            ops.kvShift(kc, vc, kvHeads, headDim, dims, 10000f, neox, RopeScaling.NONE).run(layer + (long) ctxLen * kvDim, keep, drop, length);
            float[] keys = readHalves(kc, 2 * layer), values = readHalves(vc, 2 * layer);
            float[] k = ConformanceTable.roundToHalf(kAll), v = ConformanceTable.roundToHalf(vAll), o = ConformanceTable.roundToHalf(other);
            int slot1 = (int) layer + ctxLen * kvDim, moved = length - keep - drop;
            assertArrayEquals(o, Arrays.copyOfRange(keys, (int) layer, (int) layer + o.length), "slot 0 keys");
            assertArrayEquals(o, Arrays.copyOfRange(values, (int) layer, (int) layer + o.length), "slot 0 values");
            assertArrayEquals(Arrays.copyOf(k, keep * kvDim), Arrays.copyOfRange(keys, slot1, slot1 + keep * kvDim), "kept keys");
            assertArrayEquals(Arrays.copyOf(v, keep * kvDim), Arrays.copyOfRange(values, slot1, slot1 + keep * kvDim), "kept values");
            assertArrayEquals(Arrays.copyOfRange(v, (keep + drop) * kvDim, length * kvDim),
                    Arrays.copyOfRange(values, slot1 + keep * kvDim, slot1 + (length - drop) * kvDim), "moved values");
            double[] ref = new double[moved * kvDim];
            for (int t = 0; t < moved; t++) {
                float[] row = Arrays.copyOfRange(k, (keep + drop + t) * kvDim, (keep + drop + t + 1) * kvDim);
                System.arraycopy(Reference.rope(row, kvHeads, headDim, dims, -drop, 10000f, neox), 0, ref, t * kvDim, kvDim);
            }
            ConformanceTable.check(c, "keep " + keep + " drop " + drop + " of " + length,
                    Arrays.copyOfRange(keys, slot1 + keep * kvDim, slot1 + (length - drop) * kvDim), ref);
        }
    }

    /** The first {@code count} halves of a buffer, as floats. */
    private static float[] readHalves(ClBuffer b, long count) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment host = arena.allocate(2 * count);
            ctx.read(b, 0, host);
            float[] out = new float[(int) count];
            for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(host.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i));
            return out;
        }
    }

    /**
     * Keys and values of different types: each side has its own store launch, scale layout and
     * rotation (a rotated key type rotates the query, a rotated value type the output, independently),
     * and an F16 side of a mixed pair goes through the typed kernels.
     */
    @ParameterizedTest(name = "K {0}, V {1}")
    @org.junit.jupiter.params.provider.CsvSource({"q8_0, turbo3", "turbo4, q4_0", "f16, turbo4", "q4_0, f16"})
    void mixedKeyAndValueTypes(String key, String value) {
        ops = gpuLayout;
        KvTypes kv = new KvTypes(KvType.parse(key), KvType.parse(value));
        for (int headDim : new int[] {128, 80}) {
            attentionKv(new Case(KernelOp.ATTENTION_KV, GgmlType.F16, headDim, 45, 3, 1e-5, kv.key()), kv);
        }
        ctx.finish();
    }

    /**
     * As {@link #attention} with ratio 4 over caches of {@code kv}'s types: the reference attends
     * over what {@link KvType#decode} gives back, and slot 1's rows of the device caches must be
     * {@link KvType#encode}'s very bytes, head by head.
     */
    private static void attentionKv(Case c, KvTypes kv) {
        SplittableRandom rnd = Inputs.random(c.toString() + " " + kv);
        int heads = 8, kvHeads = 2, headDim = c.k(), positions = c.n(), batch = c.batch();
        int kvDim = kvHeads * headDim, qDim = heads * headDim, ctxLen = positions + 3;
        float[][] keys = new float[positions][], values = new float[positions][];
        float[] kAll = new float[positions * kvDim], vAll = new float[positions * kvDim];
        for (int t = 0; t < positions; t++) {
            float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
            // An outlier channel, as real keys have, which the rotated types spread over the head, and
            // an offset per channel, which key centring removes.
            k[t % kvDim] *= 6;
            for (int i = 0; i < kvDim; i++) k[i] += ConformanceTable.keyOffset(i);
            System.arraycopy(k, 0, kAll, t * kvDim, kvDim);
            System.arraycopy(v, 0, vAll, t * kvDim, kvDim);
            keys[t] = ConformanceTable.storedKeys(kv.key(), k, Arrays.copyOf(kAll, kvDim), headDim);
            values[t] = ConformanceTable.storedAs(kv.value(), v, headDim);
        }
        float[] q = Inputs.floats(rnd, batch * qDim);
        for (int i = 0; i < q.length; i++) q[i] *= 3;
        float scale = (float) (1 / Math.sqrt(headDim));
        int start = positions - batch;
        double[] ref = referenceAttention(q, keys, values, heads, 4, headDim, start, batch, scale);
        // Layer 1 of a two-layer cache of two slots, so the layer and slot offsets are exercised.
        long kRow = kv.key().bytesPerPosition(kvHeads, headDim), vRow = kv.value().bytesPerPosition(kvHeads, headDim);
        long kLayer = 2L * ctxLen * kRow, vLayer = 2L * ctxLen * vRow;
        ClBuffer kc = ctx.buffer(2 * kLayer), vc = ctx.buffer(2 * vLayer);
        float[] otherK = Inputs.floats(rnd, kAll.length), otherV = Inputs.floats(rnd, vAll.length);
        ClBuffer slot0 = step(positions, 0, 0), slot1 = step(positions, 0, 1);
        // Layer 1's μ of two slots; slot 1's keys in two steps: the first (position 0 and on) reads μ
        // from its own rows, the second from the buffer.
        ClBuffer mean = ctx.buffer(4L * 2 * 2 * kvDim);
        long meanAt = 2L * kvDim;
        int firstStep = Math.max(1, positions / 2);
        ops.storeKv(kv.key(), ctx.upload(otherK), kc, slot0, kLayer, kvHeads, headDim, ctxLen, mean, meanAt).run(positions);
        ops.storeKv(kv.value(), ctx.upload(otherV), vc, slot0, vLayer, kvHeads, headDim, ctxLen).run(positions);
        ops.storeKv(kv.key(), ctx.upload(Arrays.copyOf(kAll, firstStep * kvDim)), kc, step(firstStep, 0, 1), kLayer, kvHeads, headDim, ctxLen,
                mean, meanAt).run(firstStep);
        if (firstStep < positions) {
            ops.storeKv(kv.key(), ctx.upload(Arrays.copyOfRange(kAll, firstStep * kvDim, kAll.length)), kc, step(positions - firstStep, firstStep, 1),
                    kLayer, kvHeads, headDim, ctxLen, mean, meanAt).run(positions - firstStep);
        }
        ops.storeKv(kv.value(), ctx.upload(vAll), vc, slot1, vLayer, kvHeads, headDim, ctxLen).run(positions);
        float[] kStored = kAll.clone();
        if (kv.key().centresKeys()) for (int i = 0; i < kAll.length; i++) kStored[i] = kAll[i] - kAll[i % kvDim];
        assertCacheHoldsEncodedBytes(c + " keys", kv.key(), kc, kLayer + ctxLen * kRow, kStored, kvHeads, headDim);
        assertCacheHoldsEncodedBytes(c + " values", kv.value(), vc, vLayer + ctxLen * vRow, vAll, kvHeads, headDim);
        ClBuffer out = ctx.buffer(4L * batch * qDim), scores = ctx.buffer(4L * batch * heads * ctxLen);
        ops.attention(kv, ctx.upload(q), kc, vc, scores, out, step(batch, start, 1), kLayer, vLayer, heads, kvHeads, headDim, ctxLen, scale)
                .run(batch);
        ConformanceTable.check(c, kv.toString(), ctx.readFloats(out, batch * qDim), ref);
    }

    /** The reference output of queries at positions start … start + batch − 1 over the keys and values the cache holds. */
    private static double[] referenceAttention(float[] q, float[][] keys, float[][] values, int heads, int ratio, int headDim, int start,
                                               int batch, float scale) {
        int qDim = heads * headDim;
        double[] ref = new double[batch * qDim];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                double[] o = Reference.attendHead(q, b * qDim + h * headDim, keys, values, h / ratio, headDim, start + b + 1, scale);
                System.arraycopy(o, 0, ref, b * qDim + h * headDim, headDim);
            }
        }
        return ref;
    }

    /** The cache from byte {@code at} on holds each row of {@code rows} (of kvHeads heads), head by head, as {@link KvType#encode} writes it. */
    private static void assertCacheHoldsEncodedBytes(String label, KvType type, ClBuffer cache, long at, float[] rows, int kvHeads, int headDim) {
        int headBytes = type.bytesPerHead(headDim), heads = rows.length / headDim;
        byte[] want = new byte[heads * headBytes], got = new byte[want.length];
        for (int h = 0; h < heads; h++) type.encode(rows, h * headDim, headDim, want, h * headBytes);
        ctx.read(cache, at, MemorySegment.ofArray(got));
        for (int h = 0; h < heads; h++) {
            int from = h * headBytes;
            assertArrayEquals(Arrays.copyOfRange(want, from, from + headBytes), Arrays.copyOfRange(got, from, from + headBytes),
                    label + ": " + type + " bytes of position " + h / kvHeads + ", head " + h % kvHeads);
        }
    }

}
