package io.ternion.kernels.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.RopeScaling;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs;
import io.ternion.kernels.cpu.KvCache;
import io.ternion.kernels.cpu.Ops;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * kv_shift_typed, the context shift of a compressed cache, against the CPU backend's
 * ({@link KvCache#moveAndRotate} turning keys with {@link Ops#rope} at −drop, magnitude 1, as
 * CpuBackend's shift does): after the same stores and the same shift, every position of both slots
 * decodes to the very floats the CPU's cache gives back (keys with μ added, values), for every type
 * as keys and as values, rope in both pair orders and with YaRN's angles, on the test device's
 * work-group size and on work-groups of 2 (the kernel's bits must not depend on it).
 */
class ClKvShiftTypedTest {
    private static ClContext ctx;
    private static ClOps defaultLanes, twoLanes;

    @BeforeAll
    static void open() {
        ctx = ClContext.create(OpenClTestDevice.require());
        defaultLanes = new ClOps(ctx, 1);
        twoLanes = new ClOps(ctx, new ClSettings(2, 1, 1, 1, 64));
    }

    @AfterAll
    static void close() {
        if (ctx != null) ctx.close();
    }

    /** Each type on both sides, and mixed pairs with an F16 side (which the typed kernels then serve). */
    static Stream<Arguments> pairs() {
        List<Arguments> out = new ArrayList<>();
        for (KvType t : KvType.values()) if (t != KvType.F16) out.add(Arguments.of(new KvTypes(t, t)));
        out.add(Arguments.of(new KvTypes(KvType.F16, KvType.Q4_0)));
        out.add(Arguments.of(new KvTypes(KvType.TURBO3, KvType.F16)));
        out.add(Arguments.of(new KvTypes(KvType.Q8_0, KvType.TURBO4)));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pairs")
    void shiftDecodesToTheCpusFloats(KvTypes kv) {
        // {headDim, rope dims, neox, yarn}: four 32-blocks and Hadamard blocks of 128; a short last
        // block, blocks of 16 and a tail rope leaves alone; stories260K's head of 8.
        int[][] shapes = {{128, 128, 1, 1}, {80, 64, 0, 0}, {8, 8, 0, 0}};
        for (int[] shape : shapes) {
            RopeScaling scaling = shape[3] == 1 ? new RopeScaling(0.25f, 1f, 0.9f, 32f, 1f, 1024) : RopeScaling.NONE;
            for (int[] shift : ConformanceTable.SHIFTS) {
                for (ClOps ops : new ClOps[] {defaultLanes, twoLanes}) {
                    check(ops, kv, shape[0], shape[1], shape[2] == 1, scaling, shift[0], shift[1], shift[2]);
                }
            }
        }
    }

    /** Layer 1 of a two-layer, two-slot cache; slot 1 shifts, slot 0 must stay as it was. */
    private static void check(ClOps ops, KvTypes kv, int headDim, int dims, boolean neox, RopeScaling scaling, int keep, int drop, int length) {
        String label = kv + " head " + headDim + " dims " + dims + (neox ? " neox" : "") + " keep " + keep + " drop " + drop + " of " + length
                + " (" + ops.lanes() + " lanes)";
        SplittableRandom rnd = Inputs.random(label);
        int kvHeads = 2, kvDim = kvHeads * headDim, ctxLen = length + 2, layer = 1;
        float[][] keys = new float[2][length * kvDim], values = new float[2][length * kvDim];
        KvCache cpu = new KvCache(2, 2, ctxLen, kvHeads, headDim, kv);
        for (int slot = 0; slot < 2; slot++) {
            for (int t = 0; t < length; t++) {
                float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
                for (int i = 0; i < kvDim; i++) k[i] += ConformanceTable.keyOffset(i);
                System.arraycopy(k, 0, keys[slot], t * kvDim, kvDim);
                System.arraycopy(v, 0, values[slot], t * kvDim, kvDim);
                cpu.store(layer, slot, t, k, 0, v, 0);
            }
        }
        // Slot 1's keys before the shift, to see that the moved ones were turned, not only moved.
        float[][] before = new float[length][kvDim];
        for (int t = 0; t < length; t++) cpu.readKeys(layer, 1, t, before[t], 0);
        cpu.moveAndRotate(1, keep + drop, keep, length - keep - drop,
                (l, row, off) -> Ops.rope(row, off, 1, headDim, dims, -drop, 10000f, neox, scaling, 1f));

        long rowK = kv.key().bytesPerPosition(kvHeads, headDim), rowV = kv.value().bytesPerPosition(kvHeads, headDim);
        long kLayer = 2L * ctxLen * rowK, vLayer = 2L * ctxLen * rowV, meanLayer = 2L * kvDim;
        ClBuffer kc = ctx.buffer(2 * kLayer), vc = ctx.buffer(2 * vLayer), mean = ctx.buffer(4 * 2 * meanLayer);
        for (int slot = 0; slot < 2; slot++) {
            ClBuffer step = step(length, slot);
            ops.storeKv(kv.key(), ctx.upload(keys[slot]), kc, step, kLayer, kvHeads, headDim, ctxLen, mean, meanLayer).run(length);
            ops.storeKv(kv.value(), ctx.upload(values[slot]), vc, step, vLayer, kvHeads, headDim, ctxLen).run(length);
        }
        ops.kvShift(kv, kc, vc, mean, kvHeads, headDim, dims, 10000f, neox, scaling)
                .run(kLayer + ctxLen * rowK, vLayer + ctxLen * rowV, meanLayer + kvDim, keep, drop, length);
        byte[] kBytes = read(kc, 2 * kLayer), vBytes = read(vc, 2 * vLayer);

        float[] want = new float[kvDim], got = new float[kvDim];
        boolean turned = false;
        for (int slot = 0; slot < 2; slot++) {
            float[] mu = Arrays.copyOf(keys[slot], kvDim);
            for (int t = 0; t < (slot == 1 ? length - drop : length); t++) {
                long kAt = kLayer + (slot * ctxLen + t) * rowK, vAt = vLayer + (slot * ctxLen + t) * rowV;
                cpu.readKeys(layer, slot, t, want, 0);
                decode(kv.key(), kBytes, kAt, headDim, kvHeads, got);
                if (kv.key().centresKeys()) for (int i = 0; i < kvDim; i++) got[i] += mu[i];
                assertArrayEquals(want, got, label + ": keys of slot " + slot + " position " + t);
                if (slot == 1 && t >= keep) turned |= !Arrays.equals(want, before[t + drop]);
                cpu.readValues(layer, slot, t, want, 0);
                decode(kv.value(), vBytes, vAt, headDim, kvHeads, got);
                assertArrayEquals(want, got, label + ": values of slot " + slot + " position " + t);
            }
        }
        assertTrue(turned, label + ": the moved keys were turned");
    }

    private static void decode(KvType type, byte[] cache, long at, int headDim, int kvHeads, float[] out) {
        int headBytes = type.bytesPerHead(headDim);
        for (int h = 0; h < kvHeads; h++) type.decode(cache, (int) at + h * headBytes, headDim, out, h * headDim);
    }

    private static byte[] read(ClBuffer b, long bytes) {
        byte[] out = new byte[(int) bytes];
        ctx.read(b, 0, MemorySegment.ofArray(out));
        return out;
    }

    /** A step of {@code n} positions from 0 in {@code slot}. */
    private static ClBuffer step(int n, int slot) {
        io.ternion.graph.Batch batch = io.ternion.graph.Batch.sequence(new int[n], 0, slot);
        int[] s = new int[StepLayout.ints(batch.size(), batch.outputCount())];
        StepLayout.write(batch, MemorySegment.ofArray(s));
        ClBuffer b = ctx.buffer(4L * s.length);
        ctx.write(b, 0, MemorySegment.ofArray(s));
        return b;
    }
}
