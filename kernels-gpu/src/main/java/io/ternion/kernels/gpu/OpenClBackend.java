package io.ternion.kernels.gpu;

import io.ternion.gguf.Tensor;
import io.ternion.graph.Activation;
import io.ternion.graph.Backend;
import io.ternion.graph.Batch;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.Buf;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.DeviceInfo;
import io.ternion.graph.Fusions;
import io.ternion.graph.Graph;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.Log;
import io.ternion.graph.Progress;
import io.ternion.graph.Op;
import io.ternion.graph.RopeScaling;
import io.ternion.kernels.gpu.ClOps.Activations;
import io.ternion.kernels.gpu.Launch.Rows;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The OpenCL backend: the whole forward pass resident on one device. Weights go up once in their
 * file's packed layout; activations, quantized activations and the KV cache of every slot live on
 * the device, the cache in its {@link KvType}'s bytes (quantized and rotated, keys centred,
 * by the store kernel; read where it lies by attention). Compiling records every kernel launch with its buffers bound; a forward call writes
 * only the step (each row's token, position and slot, and which rows want logits: {@link StepLayout})
 * and reads back only the wanted rows' logits. Two {@link Fusions} save a launch and a pass
 * each: an RMSNorm quantizes its output for the matmuls that read it, and a matmul adds its product
 * into the residual stream.
 */
public final class OpenClBackend implements Backend {
    /** Caps the device memory the backend may plan for, in bytes (to leave room for other programs). */
    static final String MEMORY_LIMIT_PROPERTY = "ternion.opencl.maxMemory";
    /** Set to true to time every kernel on the device and log a table per kernel when the model closes. */
    static final String PROFILE_PROPERTY = "ternion.opencl.profile";

    private final ClDevice device;

    public OpenClBackend(ClDevice device) {
        this.device = device;
    }

    /**
     * The device {@code --device index} names, or with index −1 the best one: for {@code auto} only
     * GPUs count (a CPU OpenCL device is slower than the CPU backend); an explicit {@code opencl}
     * takes a CPU device such as PoCL when there is no GPU.
     */
    public static OpenClBackend open(int index, boolean gpuOnly) {
        List<ClDevice> all;
        try {
            all = ClDevice.list();
        } catch (OpenClException e) {
            throw new BackendUnavailableException(e.getMessage(), e);
        }
        if (index >= 0) {
            if (index >= all.size()) {
                throw new BackendUnavailableException("there is no OpenCL device " + index + " (" + all.size() + " found; see ternion devices)", null);
            }
            return new OpenClBackend(all.get(index));
        }
        return new OpenClBackend(best(all, gpuOnly).orElseThrow(() -> new BackendUnavailableException(
                all.isEmpty() ? "no OpenCL device" : "no OpenCL GPU (only " + all.stream().map(ClDevice::name).toList() + ")", null)));
    }

    /** Every OpenCL device, and the index {@code auto} would pick. */
    public static DeviceInfo.Listing list() {
        List<ClDevice> all;
        try {
            all = ClDevice.list();
        } catch (OpenClException e) {
            throw new BackendUnavailableException(e.getMessage(), e);
        }
        List<DeviceInfo> out = all.stream().map(d -> new DeviceInfo(d.index(), d.name(), d.vendor(),
                d.platform(), d.type(), d.version(), d.driver(), d.globalMemory(), d.maxAllocation(), d.computeUnits(),
                d.maxWorkGroupSize(), d.fp16(), d.subgroups(), d.available() && d.compilerAvailable())).toList();
        return new DeviceInfo.Listing(out, best(all, true).map(ClDevice::index).orElse(-1));
    }

    /** GPUs before other devices, then the most memory; unavailable devices and ones without a compiler never. */
    public static Optional<ClDevice> best(List<ClDevice> all, boolean gpuOnly) {
        return all.stream()
                .filter(d -> d.available() && d.compilerAvailable() && (!gpuOnly || d.isGpu()))
                .min(Comparator.comparing((ClDevice d) -> !d.isGpu()).thenComparing(Comparator.comparingLong(ClDevice::globalMemory).reversed()));
    }

    @Override public String name() { return "opencl"; }

    @Override
    public String device() {
        return device.name() + " (" + device.platform() + ", " + device.type() + ")";
    }

    @Override
    public Graph fuse(Graph graph) {
        return Fusions.normThenQuantize(Fusions.residualAdds(graph), t -> Activations.of(t) != Activations.FLOAT);
    }

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) {
        return compile(graph, contextLength, maxBatch, slots, KvTypes.F16);
    }

    /** Every {@link KvType}, for keys and values alike; a head longer than {@link ClOps#KV_MAX_HEAD} only as F16. */
    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots, KvTypes kv) {
        if (!kv.isF16()) {
            ClOps.checkKvHead(kv.key(), graph.cache().headDim());
            ClOps.checkKvHead(kv.value(), graph.cache().headDim());
        }
        if (contextLength < 1 || maxBatch < 1 || slots < 1) {
            throw new IllegalArgumentException("context length, batch and slots must be >= 1: " + contextLength + ", " + maxBatch + ", " + slots);
        }
        for (Op op : graph.ops()) {
            for (Tensor w : op.matrices()) {
                if (!ClOps.supports(w.type())) {
                    throw new UnsupportedOperationException("the opencl backend has no kernel for " + w.type() + " weights (tensor '" + w.name() + "')");
                }
            }
        }
        // The launch settings (tornado-config/opencl) come first: a bad override file is a reason to fall back, like a missing device.
        ClSettings settings;
        try {
            settings = ClSettings.of(device);
        } catch (OpenClException e) {
            throw new BackendUnavailableException(e.getMessage(), e);
        }
        Plan plan = Plan.of(graph, contextLength, Math.min(maxBatch, settings.maxBatch()), slots, kv);
        long limit = memoryLimit();
        if (plan.deviceBytes() > limit) {
            throw new BackendUnavailableException(String.format(Locale.ROOT, "the model needs %.2f GiB of device memory at a context of %d%s%s, and %s has %.2f GiB",
                    plan.deviceBytes() / 1073741824.0, contextLength, slots == 1 ? "" : " for each of " + slots + " sequences",
                    kv.isF16() ? "" : " with a " + kv + " KV cache", device.name(), limit / 1073741824.0), null);
        }
        ClContext ctx;
        try {
            ctx = ClContext.create(device);
        } catch (OpenClException e) {
            throw new BackendUnavailableException(e.getMessage(), e);
        }
        try {
            return new Compiled(ctx, settings, graph, contextLength, slots, plan, kv);
        } catch (OpenClException e) {
            ctx.close();
            throw new BackendUnavailableException(e.getMessage(), e);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    private long memoryLimit() {
        String p = System.getProperty(MEMORY_LIMIT_PROPERTY);
        long limit = device.globalMemory();
        if (p != null && !p.isBlank()) limit = Math.min(limit, Long.parseLong(p.strip()));
        return limit;
    }

    /**
     * What the compiled graph holds on the device, counted before anything is allocated: the
     * distinct weight matrices' bytes, the widest input of a quantized matmul (the quantized
     * activation buffer's row), and everything in all. Every buffer has a row per token of a batch:
     * the head's too, as every token may want its logits. The KV cache counts its types' bytes.
     */
    record Plan(int batch, long weightBytes, int quantizedK, long otherBytes) {
        static Plan of(Graph g, int ctx, int batch, int slots, KvTypes kv) {
            Graph.Cache c = g.cache();
            Map<Tensor, Boolean> seen = new IdentityHashMap<>();
            long weights = 0, vectors = 0;
            int k = 1;
            for (Op op : g.ops()) {
                for (Tensor w : op.matrices()) {
                    if (seen.put(w, true) == null) weights += w.data().byteSize();
                    if (!(op instanceof Op.Embed) && Activations.of(w.type()) != Activations.FLOAT) k = Math.max(k, Math.toIntExact(w.rowLength()));
                }
                Tensor v = switch (op) {
                    case Op.RmsNorm r -> r.weight();
                    case Op.RmsNormQuantize r -> r.norm().weight();
                    case Op.HeadRmsNorm r -> r.weight();
                    default -> null;
                };
                if (v != null && seen.put(v, true) == null) vectors += 4 * v.elementCount();
            }
            long bytes = weights + vectors + 4L * StepLayout.capacity(batch) + 4; // + the argmax result
            for (Buf b : g.buffers()) bytes += 4L * batch * b.width();
            bytes += c.layers() * (long) slots * ctx * kv.bytesPerPosition(c.kvHeads(), c.headDim());
            if (!kv.isF16()) bytes += ClOps.kvTableBytes();
            bytes += 4L * batch * c.heads() * ctx;
            return new Plan(batch, weights, k, bytes);
        }

        long deviceBytes() { return otherBytes + quantizedBytes() + scaleBytes(); }

        /** Quantized activations: a byte per element of a batch of the widest rows. */
        long quantizedBytes() { return (long) batch * quantizedK; }

        /** Their scales: at most one float per 32 elements (Q8_0), at least one per row (I8_S). */
        long scaleBytes() { return 4L * batch * Math.max(1, quantizedK / 32); }
    }

    /** Uploads weights, showing progress on stderr when there are enough bytes to wait for. */
    private static final class Upload {
        private static final long SHOW_ABOVE = 256L << 20;
        private final Progress progress;

        Upload(long total, String device) {
            this.progress = total > SHOW_ABOVE ? Progress.start("uploading weights to " + device, "uploaded weights to " + device, total,
                    Progress.Unit.BYTES) : null;
        }

        ClWeights of(ClOps ops, Tensor t) {
            ClWeights w = ops.upload(t);
            if (progress != null) progress.advance(t.data().byteSize());
            return w;
        }

        void finish() {
            if (progress != null) progress.done();
        }
    }

    private static final class Compiled implements CompiledModel {
        private final ClContext ctx;
        private final int context, slots, maxBatch, vocab;
        private long embedRows;
        private final List<Launch> launches = new ArrayList<>();
        private final ClBuffer step, logits, argmaxOut;
        /** Quantized activations (bytes) and their scales, for the matmuls whose weights want them. */
        private final ClBuffer q, qd;
        private final Launch argmax;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment stepHost, argmaxHost;
        /**
         * Where the logits come back to: grown to the most rows a step has wanted, as decoding wants
         * one per sequence and maxBatch rows of a large vocabulary are hundreds of MiB.
         */
        private MemorySegment logitsHost = MemorySegment.NULL;
        /** Per-kernel device time, when {@value #PROFILE_PROPERTY} is set; logged on close. */
        private final KernelProfile profile;
        /** Each layer's context shift, with the rotation its keys were stored with: of an F16 pair, or of any other pair of types. */
        private final ClOps.KvShift[] shifts;
        private final ClOps.KvShiftTyped[] typedShifts;
        /** The cache's types: kv_shift shifts an F16 pair, kv_shift_typed the others. */
        private final KvTypes kvTypes;
        private final long layerElems;
        private final int kvDim;
        /** A typed cache's bytes per layer and per position, of keys and of values. */
        private final long layerK, layerV, rowK, rowV;

        Compiled(ClContext ctx, ClSettings settings, Graph g, int context, int slots, Plan plan, KvTypes kv) {
            this.ctx = ctx;
            this.context = context;
            this.slots = slots;
            this.maxBatch = plan.batch();
            this.profile = Boolean.getBoolean(PROFILE_PROPERTY) ? new KernelProfile(ctx) : null;
            Graph.Cache c = g.cache();
            ClOps ops = new ClOps(ctx, settings);
            Map<Buf, ClBuffer> bufs = new HashMap<>();
            for (Buf b : g.buffers()) bufs.put(b, ctx.buffer(4L * maxBatch * b.width()));
            Map<Tensor, ClWeights> weights = new IdentityHashMap<>();
            Upload upload = new Upload(plan.weightBytes(), ctx.device().name());
            Map<Tensor, ClBuffer> vectors = new IdentityHashMap<>();
            step = ctx.buffer(4L * StepLayout.capacity(maxBatch));
            long layerElems = (long) slots * context * c.kvDim();
            // Bytes of one layer's K and V caches: slots × context rows of each type's heads.
            int kvHeads = c.kvHeads();
            this.rowK = kv.key().bytesPerPosition(kvHeads, c.headDim());
            this.rowV = kv.value().bytesPerPosition(kvHeads, c.headDim());
            long layerK = slots * context * rowK, layerV = slots * context * rowV;
            this.layerK = layerK;
            this.layerV = layerV;
            ClBuffer kCache = ctx.buffer(layerK * c.layers()), vCache = ctx.buffer(layerV * c.layers());
            ClBuffer scores = ctx.buffer(4L * maxBatch * c.heads() * context);
            // Each slot's key μ per layer (KvType's key centring), for a key type that centres.
            // Zeros until a position 0 is stored, as the CPU's: a slot first written past 0 is not centred.
            ClBuffer keyMean = null;
            if (kv.key().centresKeys()) {
                long meanBytes = 4L * c.layers() * slots * c.kvDim();
                keyMean = ctx.buffer(meanBytes);
                try (Arena a = Arena.ofConfined()) {
                    ctx.write(keyMean, 0, a.allocate(meanBytes));
                }
            }
            Op.Rope[] keyRopes = g.keyRopes();
            this.shifts = new ClOps.KvShift[c.layers()];
            this.typedShifts = new ClOps.KvShiftTyped[c.layers()];
            this.kvTypes = kv;
            this.layerElems = layerElems;
            this.kvDim = c.kvDim();
            q = ctx.buffer(plan.quantizedBytes());
            qd = ctx.buffer(plan.scaleBytes());

            QuantizedCopy inQ = new QuantizedCopy();
            for (Op op : g.ops()) {
                switch (op) {
                    case Op.Embed e -> {
                        embedRows = e.table().rows();
                        launches.add(ops.embed(weights.computeIfAbsent(e.table(), t -> upload.of(ops, t)), step, bufs.get(e.out())));
                    }
                    case Op.RmsNormQuantize rq -> {
                        // Fusions.normThenQuantize leaves the head's norm alone, so this is a norm of every token.
                        Op.RmsNorm r = rq.norm();
                        Activations a = Activations.of(rq.readerType());
                        launches.add(ops.rmsNormQuantize(bufs.get(r.in()), vector(ctx, vectors, r.weight()), bufs.get(r.out()),
                                r.in().width(), r.eps(), a, q, qd));
                        inQ.holds(r.out(), a);
                        continue;
                    }
                    case Op.RmsNorm r -> launches.add(ops.rmsNorm(bufs.get(r.in()), vector(ctx, vectors, r.weight()), bufs.get(r.out()),
                            r.in().width(), r.eps(), 1, rows(r.in())));
                    case Op.HeadRmsNorm r -> launches.add(ops.rmsNorm(bufs.get(r.x()), vector(ctx, vectors, r.weight()), bufs.get(r.x()),
                            r.headDim(), r.eps(), r.x().width() / r.headDim(), rows(r.x())));
                    case Op.MatMul m -> matMul(ops, weights.computeIfAbsent(m.weight(), t -> upload.of(ops, t)), m.in(), bufs.get(m.out()), false, bufs, inQ);
                    case Op.MatMulAdd m -> matMul(ops, weights.computeIfAbsent(m.weight(), t -> upload.of(ops, t)), m.in(), bufs.get(m.acc()), true, bufs, inQ);
                    case Op.SharedInput s -> {
                        for (Op.MatMul m : s.matmuls()) {
                            matMul(ops, weights.computeIfAbsent(m.weight(), t -> upload.of(ops, t)), m.in(), bufs.get(m.out()), false, bufs, inQ);
                        }
                    }
                    case Op.Rope r -> launches.add(ops.rope(bufs.get(r.x()), step, r.heads(), r.headDim(), r.dims(), r.theta(), r.neox(), r.scaling()));
                    case Op.StoreKv s when kv.isF16() -> {
                        Op.Rope r = keyRopes[s.layer()];
                        shifts[s.layer()] = r == null ? ops.kvShift(kCache, vCache, c.kvHeads(), c.headDim(), 0, 1f, false, RopeScaling.NONE)
                                : ops.kvShift(kCache, vCache, c.kvHeads(), c.headDim(), r.dims(), r.theta(), r.neox(), r.scaling());
                        launches.add(ops.storeKv(bufs.get(s.k()), bufs.get(s.v()), kCache, vCache, step,
                            s.layer() * layerElems, s.k().width(), context));
                    }
                    case Op.StoreKv s -> {
                        Op.Rope r = keyRopes[s.layer()];
                        typedShifts[s.layer()] = r == null ? ops.kvShift(kv, kCache, vCache, keyMean, kvHeads, c.headDim(), 0, 1f, false, RopeScaling.NONE)
                                : ops.kvShift(kv, kCache, vCache, keyMean, kvHeads, c.headDim(), r.dims(), r.theta(), r.neox(), r.scaling());
                        launches.add(ops.storeKv(kv.key(), bufs.get(s.k()), kCache, step, s.layer() * layerK, kvHeads, c.headDim(), context,
                                keyMean, (long) s.layer() * slots * c.kvDim()));
                        launches.add(ops.storeKv(kv.value(), bufs.get(s.v()), vCache, step, s.layer() * layerV, kvHeads, c.headDim(), context));
                    }
                    case Op.Attention a when kv.isF16() -> launches.add(ops.attention(bufs.get(a.q()), kCache, vCache, scores, bufs.get(a.out()), step,
                            a.layer() * layerElems, a.heads(), a.kvHeads(), a.headDim(), context, (float) (1.0 / Math.sqrt(a.headDim()))));
                    case Op.Attention a -> launches.add(ops.attention(kv, bufs.get(a.q()), kCache, vCache, scores, bufs.get(a.out()), step,
                            a.layer() * layerK, a.layer() * layerV, a.heads(), a.kvHeads(), a.headDim(), context,
                            (float) (1.0 / Math.sqrt(a.headDim()))));
                    case Op.Scale sc -> launches.add(ops.scale(bufs.get(sc.x()), sc.factor().dequantize()[0], sc.x().width(), rows(sc.x())));
                    case Op.Add a -> launches.add(ops.add(bufs.get(a.acc()), bufs.get(a.x()), a.acc().width(), rows(a.acc())));
                    case Op.Glu gl -> launches.add(ops.glu(gl.activation() == Activation.SILU, bufs.get(gl.gate()), bufs.get(gl.up()),
                            bufs.get(gl.out()), gl.out().width()));
                    case Op.SelectOutputs s -> launches.add(ops.selectOutputs(bufs.get(s.in()), bufs.get(s.out()), step, s.in().width()));
                }
                if (op.writes().contains(inQ.of)) inQ.holds(null, null);
            }
            upload.finish();
            logits = bufs.get(g.logits());
            vocab = g.logits().width();
            argmaxOut = ctx.buffer(4);
            argmax = ops.argmax(logits, vocab, argmaxOut);
            argmaxHost = arena.allocate(ValueLayout.JAVA_INT);
            stepHost = arena.allocate(ValueLayout.JAVA_INT, StepLayout.capacity(maxBatch));
            ctx.finish(); // uploads done before the first token
        }

        /** A buffer's rows: the batch's tokens, or for the head's buffers the rows that want logits. */
        private static Rows rows(Buf b) {
            return b.perOutput() ? Rows.OUTPUTS : Rows.TOKENS;
        }

        /** Which buffer the quantized-activation buffers q and qd hold, in which format, while nothing has written to it since. */
        private static final class QuantizedCopy {
            /** A placeholder no op writes, for "nothing". */
            private static final Buf NONE = new Buf("", 0, false);
            Buf of = NONE;
            Activations as;

            void holds(Buf b, Activations a) {
                of = b == null ? NONE : b;
                as = a;
            }
        }

        /**
         * Records {@code target = W·in} (with {@code accumulate}, {@code target += W·in}); a weight type
         * with quantized activations reads q and qd, which are quantized from {@code in} first unless
         * they already hold {@code in} in that format.
         */
        private void matMul(ClOps ops, ClWeights w, Buf in, ClBuffer target, boolean accumulate, Map<Buf, ClBuffer> bufs, QuantizedCopy inQ) {
            Activations a = Activations.of(w.type());
            if (a == Activations.FLOAT) {
                launches.add(ops.matVec(w, bufs.get(in), target, step, rows(in), accumulate));
                return;
            }
            if (!in.equals(inQ.of) || inQ.as != a) {
                launches.add(ops.quantize(a, bufs.get(in), q, qd, w.k(), rows(in)));
                inQ.holds(in, a);
            }
            launches.add(ops.matVecQuantized(w, q, qd, target, step, rows(in), accumulate));
        }

        private static ClBuffer vector(ClContext ctx, Map<Tensor, ClBuffer> vectors, Tensor t) {
            return vectors.computeIfAbsent(t, x -> ctx.upload(x.dequantize()));
        }


        @Override public int contextLength() { return context; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public int slots() { return slots; }
        @Override public long residentBytes() { return stepHost.byteSize() + logitsHost.byteSize() + argmaxHost.byteSize(); }
        @Override public long deviceBytes() { return ctx.allocatedBytes(); }

        @Override
        public void forward(Batch batch, float[] out) {
            run(batch);
            int values = batch.outputCount() * vocab;
            if (logitsHost.byteSize() < 4L * values) logitsHost = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, values);
            try {
                // With nothing to read back, waiting still makes a failed kernel this step's error, as a read would.
                if (values > 0) ctx.read(logits, 0, logitsHost.asSlice(0, 4L * values));
                else ctx.finish();
                if (profile != null) profile.collect();
            } catch (OpenClException e) {
                throw new BackendUnavailableException(e.getMessage(), e);
            }
            MemorySegment.copy(logitsHost, ValueLayout.JAVA_FLOAT, 0, out, 0, values);
        }

        /** Greedy: the argmax on the device, and 4 bytes back instead of the logits. */
        @Override
        public int forwardArgmax(int[] tokens, int startPos, float[] out) {
            run(Batch.sequence(tokens, startPos, 0));
            try {
                argmax.run(1, 1, profile);
                ctx.read(argmaxOut, 0, argmaxHost);
                if (profile != null) profile.collect();
            } catch (OpenClException e) {
                throw new BackendUnavailableException(e.getMessage(), e);
            }
            return argmaxHost.get(ValueLayout.JAVA_INT, 0);
        }

        @Override
        public void shift(int slot, int keep, int drop, int length) {
            CompiledModel.checkShift(slot, keep, drop, length, slots, context);
            try {
                for (int layer = 0; layer < shifts.length; layer++) {
                    if (kvTypes.isF16()) {
                        shifts[layer].run(layer * layerElems + (long) slot * context * kvDim, keep, drop, length);
                    } else {
                        typedShifts[layer].run(layer * layerK + slot * context * rowK, layer * layerV + slot * context * rowV,
                                ((long) layer * slots + slot) * kvDim, keep, drop, length);
                    }
                }
                ctx.finish();
            } catch (OpenClException e) {
                throw new BackendUnavailableException(e.getMessage(), e);
            }
        }

        /** Checks the batch, sends its step and queues every launch; a step that wants no logits runs no head. */
        private void run(Batch batch) {
            batch.check(context, maxBatch, slots);
            // The device reads table rows by these ids with no bounds check of its own.
            for (int t : batch.tokens()) if (t < 0 || t >= embedRows) throw new IllegalArgumentException("token id " + t + " is outside the vocabulary");
            int n = batch.size(), outputs = batch.outputCount();
            try {
                ctx.write(step, 0, stepHost.asSlice(0, StepLayout.write(batch, stepHost)));
                for (Launch l : launches) l.run(n, outputs, profile);
            } catch (OpenClException e) {
                throw new BackendUnavailableException(e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            if (profile != null) {
                Log.info("opencl kernel time on " + ctx.device().name() + ":");
                profile.report().forEach(line -> Log.info("  " + line));
            }
            ctx.close();
            arena.close();
        }
    }
}
