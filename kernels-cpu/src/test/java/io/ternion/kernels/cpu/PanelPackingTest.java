package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.stream.Stream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packed panels are byte for byte what the first, plain packers wrote (kept below as the
 * reference: a scalar transposition of the codes, then the indices across rows), for every packed
 * type, on shapes with partial panels (n not a multiple of 64) and, for I2_S, a partial last chunk
 * (k not a multiple of 256), with one thread and several.
 */
class PanelPackingTest {
    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        int[] ns = {1, 63, 64, 65, 130, 200, 300, 600};
        for (GgmlType type : new GgmlType[] {GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.TQ1_0}) {
            int[] ks = type == GgmlType.I2_S ? new int[] {128, 256, 384, 640, 2560} : new int[] {256, 768, 2560};
            for (int k : ks) for (int n : ns) b.add(Arguments.of(type, k, n));
        }
        for (int k : new int[] {128, 384, 2048}) for (int n : ns) b.add(Arguments.of(GgmlType.Q1_0, k, n));
        return b.build();
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void packingIsThePlainTransposition(GgmlType type, int k, int n) {
        Tensor w = Inputs.weights(Inputs.random("packing", type, k, n), type, k, n, Placement.NATIVE_ODD);
        for (WorkerPool pool : TestPools.BOTH) {
            String where = type + " k=" + k + " n=" + n + ", " + pool.threads() + " threads";
            Object packed = MatMul.prepare(w, pool).packed.data();
            if (packed instanceof TernaryPanels t) {
                float[][] scales_ = new float[1][];
                byte[] expected = ternary(w, pool.threads(), s -> scales_[0] = s);
                assertArrayEquals(expected, t.data.toArray(ValueLayout.JAVA_BYTE), where);
                float[] expectedScales = scales_[0];
                if (!t.scaled) {
                    assertNull(t.scales, where);
                } else if (t.scales != null) {
                    assertTrue(Float.isNaN(t.uniformScale), where);
                    assertArrayEquals(expectedScales, t.scales.toArray(ValueLayout.JAVA_FLOAT), where);
                } else {
                    // Dropped: every real row's scale in every chunk was this one.
                    for (int panel = 0, panels = (n + 63) / 64; panel < panels; panel++) {
                        for (int i = 0; i < 64 && panel * 64 + i < n; i++) {
                            for (int c = 0; c < k / 256; c++) {
                                assertEquals(t.uniformScale, expectedScales[(int) t.block(c, panel) * 64 + i], where);
                            }
                        }
                    }
                }
            } else {
                byte[] expected = binary(w.data(), k, n, pool.threads());
                MemorySegment data = ((BinaryPanels) packed).data;
                assertEquals(expected.length, data.byteSize(), "packed size");
                assertArrayEquals(expected, data.toArray(ValueLayout.JAVA_BYTE), where);
            }
        }
    }

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(Vec.LE);

    /**
     * The first TernaryPanels.pack, on one thread, with the blocks placed in stripes for {@code threads}:
     * the codes, and for a scaled format the row scales in the same block order to {@code scalesOut}.
     */
    private static byte[] ternary(Tensor w, int threads, java.util.function.Consumer<float[]> scalesOut) {
        TernaryKernel kernel = switch (w.type()) {
            case I2_S -> new I2_SMatMul();
            case TQ2_0 -> new TQ2_0MatMul();
            case TQ1_0 -> new TQ1_0MatMul();
            default -> throw new IllegalArgumentException(w.type().toString());
        };
        int k = (int) w.rowLength(), n = (int) w.rows();
        int ROWS = TernaryPanels.ROWS, LANES = TernaryPanels.LANES, CHUNK = TernaryPanels.CHUNK, STEPS = TernaryPanels.STEPS;
        int chunks = (k + CHUNK - 1) / CHUNK, panels = (n + ROWS - 1) / ROWS;
        boolean scaled = kernel.scaled();
        int blockBytes = TernaryPanels.CODE_BYTES;
        MemorySegment out = MemorySegment.ofArray(new byte[chunks * panels * blockBytes]);
        float[] allScales = new float[scaled ? chunks * panels * ROWS : 0];
        TernaryPanels.Source src = kernel.source(w);
        byte[] rows = new byte[ROWS * k], codes = new byte[3 * TernaryPanels.TRIPLES * ROWS];
        short[] block = new short[STEPS * ROWS];
        float[] scales = new float[ROWS];
        for (int panel = 0; panel < panels; panel++) {
            Arrays.fill(rows, (byte) 1);
            for (int i = 0; i < ROWS && panel * ROWS + i < n; i++) src.codes(panel * ROWS + i, rows, i * k);
            for (int c = 0; c < chunks; c++) {
                Arrays.fill(codes, (byte) 1);
                for (int i = 0, len = Math.min(CHUNK, k - c * CHUNK); i < ROWS; i++) {
                    for (int j = 0, from0 = i * k + c * CHUNK; j < len; j++) codes[j * ROWS + i] = rows[from0 + j];
                }
                for (int s = 0; s < STEPS; s++) {
                    for (int half = 0; half < ROWS; half += LANES) {
                        int at = 9 * s * ROWS + half;
                        ShortVector e0 = code(codes, at).add(code(codes, at + ROWS).mul((short) 3)).add(code(codes, at + 2 * ROWS).mul((short) 9));
                        ShortVector e1 = code(codes, at + 3 * ROWS).add(code(codes, at + 4 * ROWS).mul((short) 3)).add(code(codes, at + 5 * ROWS).mul((short) 9));
                        ShortVector e2 = code(codes, at + 6 * ROWS).add(code(codes, at + 7 * ROWS).mul((short) 3)).add(code(codes, at + 8 * ROWS).mul((short) 9));
                        e0.or(e1.lanewise(VectorOperators.LSHL, 5)).or(e2.lanewise(VectorOperators.LSHL, 10)).intoArray(block, s * ROWS + half);
                    }
                }
                long at = stripedBlock(c, panel, chunks, panels, threads);
                MemorySegment.copy(block, 0, out, SHORT, at * blockBytes, block.length);
                if (scaled) {
                    for (int i = 0; i < ROWS; i++) scales[i] = panel * ROWS + i < n ? src.scale(panel * ROWS + i, c) : 0;
                    System.arraycopy(scales, 0, allScales, (int) at * ROWS, ROWS);
                }
            }
        }
        scalesOut.accept(allScales);
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    private static ShortVector code(byte[] codes, int at) {
        return (ShortVector) ByteVector.fromArray(ByteVector.SPECIES_256, codes, at).convertShape(VectorOperators.B2S, ShortVector.SPECIES_512, 0);
    }

    /** The first BinaryPanels.pack, on one thread, with the blocks placed in stripes for {@code threads}. */
    private static byte[] binary(MemorySegment w, int k, int n, int threads) {
        int ROWS = BinaryPanels.ROWS, CHUNK = BinaryPanels.CHUNK, STEPS = BinaryPanels.STEPS, BLOCK_BYTES = BinaryPanels.BLOCK_BYTES;
        int chunks = k / CHUNK, panels = (n + ROWS - 1) / ROWS, rowBytes = k / 128 * 18;
        MemorySegment out = MemorySegment.ofArray(new byte[chunks * panels * BLOCK_BYTES]);
        byte[] rows = new byte[ROWS * rowBytes];
        short[] block = new short[BLOCK_BYTES / 2];
        for (int panel = 0; panel < panels; panel++) {
            int r0 = panel * ROWS, count = Math.min(ROWS, n - r0);
            Arrays.fill(rows, (byte) 0);
            MemorySegment.copy(w, Numbers.BYTE, (long) r0 * rowBytes, rows, 0, count * rowBytes);
            for (int c = 0; c < chunks; c++) {
                for (int i = 0; i < ROWS; i++) {
                    int o = i * rowBytes + c * 18;
                    // A negative scale: its magnitude, and the weights' bits flipped (in lane order, see BinaryPanels.lane).
                    int flip = rows[o + 1] < 0 ? 0xffff : 0;
                    for (int s = 0; s < STEPS; s++) block[s * ROWS + BinaryPanels.lane(i)] = (short) ((rows[o + 2 + 2 * s] & 0xFF | rows[o + 3 + 2 * s] << 8) ^ flip);
                    block[STEPS * ROWS + BinaryPanels.lane(i)] = (short) (rows[o] & 0xFF | (rows[o + 1] & 0x7f) << 8);
                }
                MemorySegment.copy(block, 0, out, SHORT, stripedBlock(c, panel, chunks, panels, threads) * BLOCK_BYTES, block.length);
            }
        }
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * The block index of chunk c of a panel: a stripe of panels per thread (⌈panels / threads⌉ wide,
     * the last one possibly narrower) one after the other, each holding its chunks in order and
     * within a chunk its panels.
     */
    private static long stripedBlock(int c, int panel, int chunks, int panels, int threads) {
        int full = (panels + threads - 1) / threads, first = panel / full * full, width = Math.min(full, panels - first);
        return (long) first * chunks + (long) c * width + (panel - first);
    }
}
