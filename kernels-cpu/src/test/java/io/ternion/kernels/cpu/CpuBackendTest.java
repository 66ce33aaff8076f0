package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.Buf;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.Log;
import io.ternion.graph.Op;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The cpu backend on a hand-written graph: an embedding row through one I2_S matrix. */
class CpuBackendTest {
    @Test
    void saysOnceWhenThePackedKernelsCannotRunNatively() {
        SplittableRandom rnd = Inputs.random("cpu backend");
        Tensor table = Inputs.weights(rnd, GgmlType.F16, 256, 8, Placement.NATIVE_ODD);
        Tensor w = Inputs.weights(rnd, GgmlType.I2_S, 256, 16, Placement.NATIVE_ODD);
        Buf x = new Buf("x", 256, false), last = new Buf("last", 256, true), logits = new Buf("logits", 16, true);
        Graph g = new Graph(new Graph.Cache(1, 1, 1, 8), List.of(x, last, logits),
                List.of(new Op.Embed(table, x), new Op.SelectOutputs(x, last), new Op.MatMul(w, last, logits)), logits);
        List<String> log = new ArrayList<>();
        Log.setSink(log::add);
        try (CpuBackend cpu = new CpuBackend(1); CompiledModel m = cpu.compile(cpu.fuse(g), 4, 2)) {
            float[] out = new float[16];
            m.forward(new int[] {3, 5}, 0, out);
            assertTrue(CompiledModel.allFinite(out));
        } finally {
            Log.setSink(null);
        }
        // Said on a CPU without AVX-512, and in the build's run capped at 256-bit vectors (MatMulTest checks runsNatively against the cap).
        assertEquals(MatMul.runsNatively(GgmlType.I2_S) ? 0 : 1, log.stream().filter(l -> l.contains("no 512-bit vectors")).count(), log.toString());
    }
}
