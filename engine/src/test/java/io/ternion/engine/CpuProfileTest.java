package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.TestData;
import io.ternion.graph.Log;
import io.ternion.kernels.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@value CpuBackend#PROFILE_PROPERTY}: wall time per kind of op, logged when the model closes. */
class CpuProfileTest {

    @Test
    void logsTimePerOpKindOnClose() throws Exception {
        List<String> log = new ArrayList<>();
        System.setProperty(CpuBackend.PROFILE_PROPERTY, "true");
        Log.setSink(log::add);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, 64, 64))) {
            float[] logits = new float[m.config().vocabSize()];
            m.compiled().forward(new int[] {1, 403, 407}, 0, logits);
            m.compiled().forward(new int[] {261}, 3, logits);
            m.compiled().forward(new int[] {378}, 4, logits);
            assertTrue(log.stream().noneMatch(l -> l.contains("cpu op time")), "nothing is logged before close");
        } finally {
            System.clearProperty(CpuBackend.PROFILE_PROPERTY);
            Log.setSink(null);
        }
        int header = log.indexOf(log.stream().filter(l -> l.equals("ternion: cpu op time (2 threads):")).findFirst().orElseThrow());
        List<String> rows = log.subList(header + 1, log.size());
        int layers;
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 64, 64))) {
            layers = m.config().layers();
        }
        // Two single tokens ran every layer's attention twice; the prompt batch once.
        assertTrue(rows.stream().anyMatch(l -> l.matches("ternion:\\s+Attention\\s+" + 2 * layers + " calls .* ms .*%")), String.join("\n", rows));
        assertTrue(rows.stream().anyMatch(l -> l.matches("ternion:\\s+Attention \\(prompt\\)\\s+" + layers + " calls .*")), String.join("\n", rows));
        assertTrue(rows.stream().anyMatch(l -> l.matches("ternion:\\s+MatMul \\w+ \\d+x\\d+\\s+\\d+ calls .*")), String.join("\n", rows));
    }

    @Test
    void logsNothingByDefault() throws Exception {
        List<String> log = new ArrayList<>();
        Log.setSink(log::add);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 64, 64))) {
            m.compiled().forward(new int[] {1}, 0, new float[m.config().vocabSize()]);
        } finally {
            Log.setSink(null);
        }
        assertTrue(log.stream().noneMatch(l -> l.contains("cpu op time")), String.join("\n", log));
    }
}
