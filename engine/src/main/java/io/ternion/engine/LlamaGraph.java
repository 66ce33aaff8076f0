package io.ternion.engine;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Tensor;
import io.ternion.graph.Buf;
import io.ternion.graph.Graph;
import io.ternion.graph.Op;
import io.ternion.graph.RopeScaling;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds the forward graph of the llama family as ggml runs it. BitNet adds RMSNorms before the
 * attention output and FFN down projections; Qwen3 adds per-head q/k norms; the RoPE pairing and
 * the FFN activation come from the config. Tensors are checked for presence and shape here, so a
 * bad file fails at load with the tensor's name.
 */
public final class LlamaGraph {
    private final GgufFile file;
    private final ModelConfig c;
    /** Whether tensors are made up in {@code c}'s shapes, of the types the file's have, rather than read from it. */
    private final boolean madeUp;
    /** Where made-up tensors are kept: a mapped file, as the real ones are; null: the heap. */
    private final MemorySegment scratch;
    private long scratchUsed;

    private LlamaGraph(GgufFile file, ModelConfig c, boolean madeUp, MemorySegment scratch) {
        this.file = file;
        this.c = c;
        this.madeUp = madeUp;
        this.scratch = scratch;
    }

    public static Graph build(GgufFile file, ModelConfig c) {
        return new LlamaGraph(file, c, false, null).build();
    }

    /**
     * The graph of {@code c} (a smaller model than the file's: {@link KernelWarmUp}) over random weights
     * of the types the file's tensors have: the same ops and kernels as the file's own graph at a
     * fraction of its cost. The weights are copied into {@code scratch} (null: left on the heap),
     * which should be a native segment like the model's tensors ({@link GgufFile#open}): C2 compiles
     * a kernel for the segment class it has seen, and one compiled on heap weights was compiled
     * again, for good, slower on the file's (2B4T's F16 head then decoded at half speed).
     */
    static Graph buildLike(GgufFile file, ModelConfig c, MemorySegment scratch) {
        return new LlamaGraph(file, c, true, scratch).build();
    }

    /**
     * A mapped temporary file of {@code bytes} (sparse: only what is written takes room), deleted at
     * once (the mapping keeps it until {@code arena} closes), seen as a plain native segment as the
     * model's tensors are ({@link GgufFile#plainView}); null where none can be made.
     */
    static MemorySegment mappedScratch(Arena arena, long bytes) {
        try {
            Path f = Files.createTempFile("ternion-warmup", ".bin");
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), bytes - 1);
                return GgufFile.plainView(ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena), arena);
            } finally {
                Files.deleteIfExists(f);
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private Graph build() {
        Buf x = buf("x", c.dim()), h = buf("h", c.dim()), h2 = buf("h2", c.dim());
        Buf q = buf("q", c.qDim()), k = buf("k", c.kvDim()), v = buf("v", c.kvDim()), att = buf("att", c.qDim());
        Buf g = buf("gate", c.ffnDim()), u = buf("up", c.ffnDim()), m = buf("ffn", c.ffnDim());
        Buf last = new Buf("last", c.dim(), true);
        Buf logits = new Buf("logits", c.vocabSize(), true);
        float eps = c.rmsEps();

        Tensor embd = tensor("token_embd.weight", c.dim(), c.vocabSize());
        List<Op> ops = new ArrayList<>();
        ops.add(new Op.Embed(embd, x));
        RopeScaling rope = c.ropeScaling().kernelScaling();
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            ops.add(new Op.RmsNorm(x, tensor(b + "attn_norm.weight", c.dim()), h, eps));
            matmul(ops, b + "attn_q.weight", h, q, c.dim(), c.qDim());
            matmul(ops, b + "attn_k.weight", h, k, c.dim(), c.kvDim());
            matmul(ops, b + "attn_v.weight", h, v, c.dim(), c.kvDim());
            if (c.qkNorm()) {
                ops.add(new Op.HeadRmsNorm(q, tensor(b + "attn_q_norm.weight", c.headDim()), c.headDim(), eps));
                ops.add(new Op.HeadRmsNorm(k, tensor(b + "attn_k_norm.weight", c.headDim()), c.headDim(), eps));
            }
            ops.add(new Op.Rope(q, c.heads(), c.headDim(), c.ropeDims(), c.ropeTheta(), c.ropeNeox(), rope));
            ops.add(new Op.Rope(k, c.kvHeads(), c.headDim(), c.ropeDims(), c.ropeTheta(), c.ropeNeox(), rope));
            ops.add(new Op.StoreKv(l, k, v));
            ops.add(new Op.Attention(l, q, att, c.heads(), c.kvHeads(), c.headDim()));
            if (c.subNorms()) ops.add(new Op.RmsNorm(att, tensor(b + "attn_sub_norm.weight", c.qDim()), att, eps));
            matmul(ops, b + "attn_output.weight", att, h2, c.qDim(), c.dim());
            ops.add(new Op.Add(x, h2));

            ops.add(new Op.RmsNorm(x, tensor(b + "ffn_norm.weight", c.dim()), h, eps));
            matmul(ops, b + "ffn_gate.weight", h, g, c.dim(), c.ffnDim());
            matmul(ops, b + "ffn_up.weight", h, u, c.dim(), c.ffnDim());
            ops.add(new Op.Glu(c.activation(), g, u, m));
            if (c.subNorms()) ops.add(new Op.RmsNorm(m, tensor(b + "ffn_sub_norm.weight", c.ffnDim()), m, eps));
            matmul(ops, b + "ffn_down.weight", m, h2, c.ffnDim(), c.dim());
            ops.add(new Op.Add(x, h2));
        }
        ops.add(new Op.SelectOutputs(x, last));
        ops.add(new Op.RmsNorm(last, tensor("output_norm.weight", c.dim()), last, eps));
        Tensor head = file.findTensor("output.weight").isPresent() ? tensor("output.weight", c.dim(), c.vocabSize()) : embd;
        ops.add(new Op.MatMul(head, last, logits));
        return new Graph(c.cache(), List.of(x, h, h2, q, k, v, att, g, u, m, last, logits), List.copyOf(ops), logits);
    }

    /**
     * Checks the graph's small tensors (norm weights, scale factors), which one NaN spoils entirely,
     * at load: a file with a non-finite value there is refused, naming the tensor. Matrices are too
     * large to scan at every load; a non-finite value there shows up as non-finite logits, and
     * {@link #firstNonFinite} then names the tensor.
     */
    static void requireFiniteVectors(Graph g) {
        for (Op op : g.ops()) {
            Tensor t = switch (op) {
                case Op.RmsNorm r -> r.weight();
                case Op.HeadRmsNorm r -> r.weight();
                case Op.Scale s -> s.factor();
                default -> null;
            };
            if (t != null && firstNonFiniteRow(t) >= 0) throw new ModelException("tensor '" + t.name() + "' holds a value that is not finite (NaN or infinity)");
        }
    }

    /** "tensor 'name' holds …" for the first tensor in the file that has a NaN or an infinity among its values, or null. */
    static String firstNonFinite(GgufFile file) {
        for (var info : file.tensors()) {
            Tensor t = file.tensor(info.name());
            long row = firstNonFiniteRow(t);
            if (row >= 0) return "tensor '" + t.name() + "' holds a value that is not finite (NaN or infinity) in row " + row;
        }
        return null;
    }

    /** The first row of {@code t} with a NaN or an infinity once decoded (by the scalar reference decoder), or −1. */
    private static long firstNonFiniteRow(Tensor t) {
        float[] row = new float[Math.toIntExact(t.rowLength())];
        for (long r = 0; r < t.rows(); r++) {
            t.dequantizeRow(r, row, 0);
            for (float x : row) if (!Float.isFinite(x)) return r;
        }
        return -1;
    }

    /** out = W · in, then times W's optional {@code .scale} tensor (one value) when the file has one. */
    private void matmul(List<Op> ops, String weight, Buf in, Buf out, long... shape) {
        ops.add(new Op.MatMul(tensor(weight, shape), in, out));
        String scale = weight.replace(".weight", ".scale");
        if (file.findTensor(scale).isPresent()) ops.add(new Op.Scale(out, tensor(scale, 1)));
    }

    /** Random values of {@code type}: vectors near 1 (norm weights, scales), matrices small. */
    private Tensor madeUp(GgmlType type, String name, long... shape) {
        float[] v = new float[Math.toIntExact(java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact))];
        var random = new java.util.SplittableRandom(name.hashCode());
        for (int i = 0; i < v.length; i++) v[i] = (float) (shape.length == 1 ? 1 + 0.1 * random.nextDouble(-1, 1) : 0.05 * random.nextDouble(-1, 1));
        Tensor t = Tensor.quantize(name, type, shape, v);
        long at = (scratchUsed + 63) & ~63L, size = t.data().byteSize();
        if (scratch == null || at + size > scratch.byteSize()) return t;
        MemorySegment mapped = scratch.asSlice(at, size).copyFrom(t.data());
        scratchUsed = at + size;
        return new Tensor(name, type, shape, mapped);
    }

    private static Buf buf(String name, int width) {
        return new Buf(name, width, false);
    }

    private static long[] trimOnes(long[] s) {
        int n = s.length;
        while (n > 1 && s[n - 1] == 1) n--;
        return Arrays.copyOf(s, n);
    }

    /** The named tensor, which must exist with this shape (ggml order: row length first). */
    private Tensor tensor(String name, long... shape) {
        if (madeUp) return madeUp(file.tensor(name).type(), name, shape);
        if (file.findTensor(name).isEmpty()) {
            throw new ModelException(file.source() + ": tensor '" + name + "' is missing (architecture " + c.architecture() + ")");
        }
        Tensor t = file.tensor(name);
        if (!Arrays.equals(trimOnes(t.shape()), trimOnes(shape))) {
            throw new ModelException(file.source() + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        return t;
    }
}
