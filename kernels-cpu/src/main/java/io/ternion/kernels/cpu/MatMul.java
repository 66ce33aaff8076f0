package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * y = W·x for a weight tensor W of N rows by K columns, against one vector (decode) or a batch
 * (prompt). Most formats are read where they lie (a mapped file), never copied whole; the ternary
 * and binary formats run from a copy repacked once by {@link #prepare} ({@link PackedKernel}).
 *
 * <ul>
 *   <li>batch 1: each weight type's fused kernel streams the rows once; the work is split over rows.
 *   <li>batch &gt; 1: a tile of rows is decoded once to floats in a per-thread buffer that stays in
 *       L2, then multiplied with every vector of the batch, four rows by four vectors at a time so
 *       each load feeds four FMAs.
 * </ul>
 */
public final class MatMul {
    private MatMul() {}

    /** The registry: one kernel per weight type, reading the file's layout or a packed copy. */
    private static final Map<GgmlType, RowKernel> KERNELS;
    private static final Map<GgmlType, PackedKernel<?, ?>> PACKED;
    static {
        var m = new EnumMap<GgmlType, RowKernel>(GgmlType.class);
        for (RowKernel k : new RowKernel[] {
                new F32MatMul(), new F16MatMul(), new Bf16MatMul(),
                blocks(new Q8_0MatMul()), blocks(new Q4_0MatMul()), blocks(new Q4_KMatMul()), blocks(new Q6_KMatMul())}) {
            m.put(k.type(), k);
        }
        KERNELS = Collections.unmodifiableMap(m);
        var p = new EnumMap<GgmlType, PackedKernel<?, ?>>(GgmlType.class);
        for (PackedKernel<?, ?> k : new PackedKernel<?, ?>[] {new I2_SMatMul(), new TQ2_0MatMul(), new TQ1_0MatMul(), new Q1_0MatMul(),
                new Q2_0MatMul(GgmlType.Q2_0), new Q2_0MatMul(GgmlType.Q2_0_128)}) {
            p.put(k.type(), k);
        }
        PACKED = Collections.unmodifiableMap(p);
    }

    private static RowKernel blocks(RowKernel k) {
        return Vec.BLOCK_KERNELS ? k : new ScalarKernel(k.type());
    }

    /** Budget for one thread's decoded tile: a good part of a 1–2 MiB L2, leaving room for x. */
    private static final int TILE_BYTES = 256 * 1024;
    private static final ThreadLocal<float[]> TILE = ThreadArrays.floats();
    /** Where {@link #dot4x4} leaves its 16 accumulators' lanes. */
    private static final ThreadLocal<float[]> LANES = ThreadArrays.floats();
    /** Below this many multiply-adds, waking the other threads costs more than they save. */
    private static final long PARALLEL_MIN_WORK = 1 << 16;

    public static boolean supports(GgmlType type) { return KERNELS.containsKey(type) || PACKED.containsKey(type); }

    /**
     * Whether this JVM runs the packed kernels as compiled vector code: they are written for 512-bit
     * vectors ({@link TernaryPanels}, {@link BinaryPanels}, {@link TwoBitPanels}), which C2 compiles only where the
     * CPU has them (AVX-512 with 16-bit lanes) and {@code -XX:MaxVectorSize} allows 64 bytes.
     */
    private static final boolean PACKED_NATIVE = Math.min(ShortVector.SPECIES_PREFERRED.vectorBitSize(),
            FloatVector.SPECIES_PREFERRED.vectorBitSize())
            >= Math.max(TernaryPanels.S.vectorBitSize(), Math.max(BinaryPanels.S.vectorBitSize(), TwoBitPanels.S.vectorBitSize()));

    /**
     * Whether {@code type}'s kernel runs at full speed on this JVM: false only for the formats that
     * run from a repacked copy (I2_S, TQ1_0, TQ2_0, Q1_0, Q2_0) where vectors are narrower than 512 bits
     * (AVX2, NEON, or {@code -XX:MaxVectorSize} below 64). There the Vector API runs their 512-bit
     * code as plain Java: the same bits, but a 2560 × 6912 matvec took 0.07–0.3 s instead of
     * 0.1–0.2 ms, 700 to 2000 times slower (measured on an AVX-512 CPU under
     * {@code -XX:MaxVectorSize=32} and {@code -XX:UseAVX=2}), 10–30 s per token for a 1–2B model.
     * A backend should say so once when a model has such weights. The other formats use the
     * widest vectors the CPU has (or a scalar decode where vectors hold 4 floats) and are always
     * true, as are types without a kernel.
     */
    public static boolean runsNatively(GgmlType type) {
        return PACKED_NATIVE || !PACKED.containsKey(type);
    }

    private static RowKernel kernel(GgmlType type) {
        RowKernel k = KERNELS.get(type);
        if (k == null) throw new UnsupportedOperationException("no CPU matmul kernel for weight type " + type);
        return k;
    }

    /**
     * {@code w} ready for {@link #matmul(Weights, float[], int, int, float[], int, WorkerPool)}: for the
     * formats that run from a repacked copy, the copy is made here (on the pool's threads) and held by
     * the result; for the others nothing is copied. An F16 tensor is read once to choose its kernel
     * ({@link F16MatMul#allFinite}).
     */
    public static Weights prepare(Tensor w, WorkerPool pool) {
        PackedKernel<?, ?> pk = PACKED.get(w.type());
        if (pk != null) return new Weights(w, null, pk.prepare(w, pool));
        RowKernel kernel = kernel(w.type());
        if (kernel instanceof F16MatMul && F16MatMul.allFinite(w, pool)) kernel = FINITE_F16;
        return new Weights(w, kernel, null);
    }

    /** The F16 kernel for tensors {@link F16MatMul#allFinite} has cleared; never in the registry, so never picked without that check. */
    private static final RowKernel FINITE_F16 = new F16MatMul.Finite();

    /**
     * {@link #matmul(Weights, float[], int, int, float[], int, WorkerPool)} for a one-off product:
     * a format that runs from a repacked copy is repacked on every call, so {@link #prepare} a matrix
     * that is used more than once.
     */
    public static void matmul(Tensor w, float[] x, int xOffset, int batch, float[] y, int yOffset, WorkerPool pool) {
        matmul(prepare(w, pool), x, xOffset, batch, y, yOffset, pool);
    }

    /**
     * For b &lt; batch and r &lt; N: {@code y[yOffset + b*N + r] = Σ_k W[r][k]·x[xOffset + b*K + k]}, over
     * the pool's threads.
     */
    public static void matmul(Weights weights, float[] x, int xOffset, int batch, float[] y, int yOffset, WorkerPool pool) {
        Tensor w = weights.tensor();
        int k = Math.toIntExact(w.rowLength()), n = Math.toIntExact(w.rows());
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        checkRange("x", x.length, xOffset, (long) batch * k);
        checkRange("y", y.length, yOffset, (long) batch * n);
        if (weights.packed != null) {
            packed(new Weights[] {weights}, k, x, xOffset, batch, new float[][] {y}, new int[] {yOffset}, pool);
            return;
        }
        boolean inline = (long) n * k * batch < PARALLEL_MIN_WORK;
        RowKernel kernel = weights.kernel;
        MemorySegment data = w.data();
        if (batch == 1) {
            if (inline) kernel.dot(data, k, 0, n, x, xOffset, y, yOffset);
            else pool.parallelFor(n, (from, to) -> kernel.dot(data, k, from, to, x, xOffset, y, yOffset));
            return;
        }
        int tileRows = Math.clamp(TILE_BYTES / (4L * k) / 4 * 4, 4, 64);
        int tiles = (n + tileRows - 1) / tileRows;
        WorkerPool.RangeTask tileTask = (from, to) -> {
            float[] tile = ThreadArrays.atLeastFloats(TILE, tileRows * k), lanes = ThreadArrays.atLeastFloats(LANES, 16 * L);
            for (int t = from; t < to; t++) {
                int r0 = t * tileRows, rows = Math.min(tileRows, n - r0);
                kernel.decode(data, k, r0, r0 + rows, tile, 0);
                multiplyTile(tile, rows, k, x, xOffset, batch, y, yOffset + r0, n, lanes);
            }
        };
        if (inline) tileTask.run(0, tiles);
        else pool.parallelFor(tiles, tileTask);
    }

    /**
     * Whether {@link #matmuls} can quantize one input once for both matrices: both run from packed
     * copies of the same format and row length.
     */
    public static boolean sharesInput(Weights a, Weights b) {
        return a.packed != null && b.packed != null && a.packed.kernel() == b.packed.kernel()
                && a.tensor().rowLength() == b.tensor().rowLength();
    }

    /** {@link #sharesInput(Weights, Weights)} of the two tensors once prepared, known before preparing them (one packed kernel per type). */
    public static boolean sharesInput(Tensor a, Tensor b) {
        return PACKED.containsKey(a.type()) && a.type() == b.type() && a.rowLength() == b.rowLength();
    }

    /**
     * {@code ys[i] = ws[i] · x} for matrices of one row length, as {@link #matmul} does each (same
     * results). Where {@link #sharesInput} holds for them all, the input is quantized once and all
     * their work goes to the threads in one parallelFor: a layer's q, k and v (or gate and up) then
     * cost one quantization and one wait for the threads instead of three.
     */
    public static void matmuls(Weights[] ws, float[] x, int xOffset, int batch, float[][] ys, WorkerPool pool) {
        if (ys.length != ws.length) throw new IllegalArgumentException(ws.length + " matrices but " + ys.length + " outputs");
        if (ws.length == 0) return;
        boolean shared = true;
        for (Weights w : ws) shared &= sharesInput(ws[0], w);
        if (!shared || batch < 1) {
            for (int i = 0; i < ws.length; i++) matmul(ws[i], x, xOffset, batch, ys[i], 0, pool);
            return;
        }
        int k = Math.toIntExact(ws[0].tensor().rowLength());
        checkRange("x", x.length, xOffset, (long) batch * k);
        for (int i = 0; i < ws.length; i++) checkRange("y", ys[i].length, 0, (long) batch * ws[i].tensor().rows());
        packed(ws, k, x, xOffset, batch, ys, new int[ws.length], pool);
    }

    /**
     * Activation rows quantized together for a packed kernel: their tables (about 22 bytes per
     * element for the ternary formats) stay in L2 while each thread's weights are reread for every
     * row, and the weights are streamed from memory once per group.
     */
    private static final int PACKED_BATCH = 16;

    /**
     * Packed matrices of one format and row length against one input (checked by the callers): each
     * group of activation rows is quantized once, and all the matrices' units go to the threads in
     * one parallelFor (or run inline when the work is small).
     */
    private static void packed(Weights[] ws, int k, float[] x, int xOffset, int batch, float[][] ys, int[] yOffsets, WorkerPool pool) {
        packed(ws[0].packed, ws, k, x, xOffset, batch, ys, yOffsets, pool);
    }

    /**
     * {@link #packed(Weights[], int, float[], int, int, float[][], int[], WorkerPool)} with the first
     * matrix's packed and activation types named: every matrix is taken as one of its kernel's
     * ({@link PackedKernel.Packed#same}, which checks it), so each meets activations of its own type.
     */
    private static <P, A> void packed(PackedKernel.Packed<P, A> first, Weights[] ws, int k, float[] x, int xOffset, int batch,
            float[][] ys, int[] yOffsets, WorkerPool pool) {
        List<PackedKernel.Packed<P, A>> ms = new ArrayList<>(ws.length);
        int[] n = new int[ws.length], start = new int[ws.length + 1];
        long work = 0;
        for (int i = 0; i < ws.length; i++) {
            ms.add(first.same(ws[i].packed));
            n[i] = Math.toIntExact(ws[i].tensor().rows());
            start[i + 1] = start[i] + ms.get(i).units();
            work += (long) n[i] * k * batch;
        }
        for (int b0 = 0; b0 < batch; b0 += PACKED_BATCH) {
            A act = first.quantize(x, xOffset + b0 * k, Math.min(PACKED_BATCH, batch - b0), pool);
            int row = b0;
            WorkerPool.RangeTask task = (from, to) -> {
                for (int i = 0; i < ms.size(); i++) {
                    int lo = Math.max(from, start[i]), hi = Math.min(to, start[i + 1]);
                    if (lo < hi) ms.get(i).dot(lo - start[i], hi - start[i], act, ys[i], yOffsets[i] + row * n[i]);
                }
            };
            if (work < PARALLEL_MIN_WORK) task.run(0, start[ws.length]);
            else pool.parallelFor(start[ws.length], task);
        }
    }

    /** y[yOff + b*n + i] = tile row i · x vector b, for i &lt; rows, b &lt; batch; {@code lanes}: 16·L floats of scratch. */
    private static void multiplyTile(float[] tile, int rows, int k, float[] x, int xOff, int batch, float[] y, int yOff, int n, float[] lanes) {
        for (int b = 0; b < batch; b += 4) {
            int bn = Math.min(4, batch - b);
            for (int i = 0; i < rows; i += 4) {
                if (bn == 4 && rows - i >= 4) {
                    dot4x4(tile, i * k, x, xOff + b * k, k, y, yOff + b * n + i, n, lanes);
                } else {
                    // Same accumulation order as dot4x4 (one accumulator, then the scalar tail), so a
                    // row's result does not depend on where the tile boundaries fall.
                    for (int bb = b; bb < b + bn; bb++) {
                        for (int ii = i; ii < Math.min(i + 4, rows); ii++) {
                            y[yOff + bb * n + ii] = Vec.dot(tile, ii * k, x, xOff + bb * k, k);
                        }
                    }
                }
            }
        }
    }

    /** Four rows (w from wOff, stride k) times four vectors (x from xOff, stride k): 16 dot products. */
    private static void dot4x4(float[] w, int wOff, float[] x, int xOff, int k, float[] y, int yOff, int n, float[] lanes) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int j = 0;
        for (int end = F.loopBound(k); j < end; j += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, wOff + j), w1 = FloatVector.fromArray(F, w, wOff + k + j);
            FloatVector w2 = FloatVector.fromArray(F, w, wOff + 2 * k + j), w3 = FloatVector.fromArray(F, w, wOff + 3 * k + j);
            FloatVector x0 = FloatVector.fromArray(F, x, xOff + j);
            c00 = w0.fma(x0, c00); c10 = w1.fma(x0, c10); c20 = w2.fma(x0, c20); c30 = w3.fma(x0, c30);
            FloatVector x1 = FloatVector.fromArray(F, x, xOff + k + j);
            c01 = w0.fma(x1, c01); c11 = w1.fma(x1, c11); c21 = w2.fma(x1, c21); c31 = w3.fma(x1, c31);
            FloatVector x2 = FloatVector.fromArray(F, x, xOff + 2 * k + j);
            c02 = w0.fma(x2, c02); c12 = w1.fma(x2, c12); c22 = w2.fma(x2, c22); c32 = w3.fma(x2, c32);
            FloatVector x3 = FloatVector.fromArray(F, x, xOff + 3 * k + j);
            c03 = w0.fma(x3, c03); c13 = w1.fma(x3, c13); c23 = w2.fma(x3, c23); c33 = w3.fma(x3, c33);
        }
        // Written out rather than through an array of vectors: with the array C2 allocated the 16
        // accumulators and the prompt path ran at 5.7 instead of 49 GFLOP/s on one core. Stored and
        // summed across in memory, not passed on: after this loop C2 is over its node budget
        // (NodeCountInliningCutoff), so a call taking a vector was left out of line and all 16 were
        // boxed on every call (JFR: most of a 4-sequence decode's allocations, ~1 KB a call).
        c00.intoArray(lanes, 0); c01.intoArray(lanes, L); c02.intoArray(lanes, 2 * L); c03.intoArray(lanes, 3 * L);
        c10.intoArray(lanes, 4 * L); c11.intoArray(lanes, 5 * L); c12.intoArray(lanes, 6 * L); c13.intoArray(lanes, 7 * L);
        c20.intoArray(lanes, 8 * L); c21.intoArray(lanes, 9 * L); c22.intoArray(lanes, 10 * L); c23.intoArray(lanes, 11 * L);
        c30.intoArray(lanes, 12 * L); c31.intoArray(lanes, 13 * L); c32.intoArray(lanes, 14 * L); c33.intoArray(lanes, 15 * L);
        // Accumulator t's sum lands at lanes[t / L · L² + t % L].
        for (int g = 0; g < 16; g += L) Attention.sumsAcross(lanes, g * L);
        for (int r = 0; r < 4; r++) {
            for (int b = 0; b < 4; b++) {
                int t = 4 * r + b;
                float sum = lanes[t / L * L * L + t % L];
                for (int i = j; i < k; i++) sum += w[wOff + r * k + i] * x[xOff + b * k + i]; // the tail, as Vec.dot
                y[yOff + r + b * n] = sum;
            }
        }
    }

    /** Row {@code row} of {@code w} as floats (an embedding lookup). */
    public static void getRow(Tensor w, long row, float[] out, int outOffset) {
        int k = Math.toIntExact(w.rowLength());
        if (row < 0 || row >= w.rows()) throw new IndexOutOfBoundsException("row " + row + " of " + w);
        checkRange("out", out.length, outOffset, k);
        RowKernel kernel = KERNELS.get(w.type());
        if (kernel != null) kernel.decode(w.data(), k, Math.toIntExact(row), Math.toIntExact(row) + 1, out, outOffset);
        else w.dequantizeRow(row, out, outOffset);
    }

    private static void checkRange(String what, int length, int offset, long count) {
        if (offset < 0 || offset + count > length) {
            throw new IndexOutOfBoundsException(what + ": " + count + " floats from " + offset + " do not fit in " + length);
        }
    }
}
