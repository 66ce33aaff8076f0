package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.TestData;
import io.ternion.graph.Log;
import io.ternion.graph.RopeScaling;
import io.ternion.kernels.gpu.OpenClTestDevice;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RoPE scaling from the file and from llama.cpp's flags, through to the graph, the three backends
 * and the context the model accepts without a warning.
 */
class RopeScalingModelTest {
    @TempDir
    static Path dir;

    private static ModelConfig synth(float yarn) throws IOException {
        Path f = dir.resolve("tiny-qwen3-" + yarn + ".gguf");
        Synth.write(Preset.ALL.get("tiny-qwen3"), GgmlType.Q1_0, 3, null, null, yarn, f);
        try (GgufFile file = GgufFile.open(f)) {
            return ModelConfig.from(file);
        }
    }

    @Test
    void yarnFromTheFile() throws IOException {
        ModelConfig c = synth(4f);
        RopeScalingConfig r = c.ropeScaling();
        assertEquals(RopeScalingConfig.Type.YARN, r.type());
        assertEquals(4f, r.factor());
        assertEquals(256, r.originalContext());
        assertEquals(256, c.contextLength());
        assertEquals(1024, c.maxContext());
        assertEquals(RopeScaling.yarn(4f, 256), r.kernelScaling());
        assertEquals("yarn ×4 of 256", r.toString());
    }

    @Test
    void noKeysIsNoScaling() throws IOException {
        ModelConfig c = synth(0f);
        assertFalse(c.ropeScaling().scales());
        assertEquals(256, c.maxContext());
        assertTrue(c.ropeScaling().kernelScaling().isNone());
    }

    @Test
    void flagsOverTheFile() throws IOException {
        ModelConfig plain = synth(0f), yarn = synth(4f);
        // llama.cpp's --rope-scaling yarn --rope-scale 8 --yarn-orig-ctx 128 --rope-freq-base 2e5 on a file without scaling.
        ModelConfig c = plain.withRopeOverrides(new RopeOverrides(RopeScalingConfig.Type.YARN, 8f, null, 2e5f, 128, null, null, null, null));
        assertEquals(2e5f, c.ropeTheta());
        assertEquals(1024, c.maxContext());
        assertEquals(RopeScaling.yarn(8f, 128), c.ropeScaling().kernelScaling());
        // --rope-freq-scale 0.5 alone: the file's type when it has none is linear (llama.cpp's default), factor 2.
        c = plain.withRopeOverrides(new RopeOverrides(null, null, 0.5f, null, null, null, null, null, null));
        assertEquals(new RopeScaling(0.5f, 0f, 1f, 32f, 1f, 256), c.ropeScaling().kernelScaling());
        assertEquals(512, c.maxContext());
        // --rope-scaling none turns the file's YaRN off; the context is the trained one again.
        c = yarn.withRopeOverrides(new RopeOverrides(RopeScalingConfig.Type.NONE, null, null, null, null, null, null, null, null));
        assertTrue(c.ropeScaling().kernelScaling().isNone());
        assertEquals(256, c.maxContext());
        // --yarn-attn-factor multiplies the file's attn_factor; --yarn-beta-* replace the defaults.
        c = yarn.withRopeOverrides(new RopeOverrides(null, null, null, null, null, null, 0.5f, 16f, 2f));
        assertEquals(new RopeScaling(0.25f, 1f, 0.5f, 16f, 2f, 256), c.ropeScaling().kernelScaling());
        // Their -1, llama.cpp's "not given", leaves the file's values.
        c = yarn.withRopeOverrides(new RopeOverrides(null, null, null, null, null, -1f, -1f, -1f, -1f));
        assertEquals(RopeScaling.yarn(4f, 256), c.ropeScaling().kernelScaling());
    }

    @Test
    void nonsenseFlagsAreRefusedByName() {
        for (var bad : List.<Runnable>of(
                () -> new RopeOverrides(null, 0f, null, null, null, null, null, null, null),
                () -> new RopeOverrides(null, 2f, 0.5f, null, null, null, null, null, null),
                () -> new RopeOverrides(null, null, null, -1f, null, null, null, null, null),
                () -> new RopeOverrides(null, null, null, null, -5, null, null, null, null),
                () -> new RopeOverrides(null, null, null, null, null, null, 0f, null, null),
                () -> new RopeOverrides(null, null, null, null, null, null, null, Float.NaN, null))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::run);
            assertTrue(e.getMessage().startsWith("--") || e.getMessage().startsWith("give"), e.getMessage());
        }
    }

    /** stories260K (trained on 2048 positions) run as if trained on 128, stretched 4 times by YaRN, to position 300. */
    private static final RopeOverrides STORIES_YARN = new RopeOverrides(RopeScalingConfig.Type.YARN, 4f, null, null, 128, null, null, null, null);

    /** 300 tokens of the model's own story (greedy, unscaled), teacher-forced: each position's logits. */
    private static float[][] logits(String backend, RopeOverrides rope) throws IOException {
        int[] story;
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, 512, 64))) {
            story = m.newSession().generate(new int[] {1}, 299, SamplerParams.GREEDY, (id, t) -> true).tokens();
        }
        int[] tokens = new int[story.length + 1];
        tokens[0] = 1;
        System.arraycopy(story, 0, tokens, 1, story.length);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, 512, 64), null, rope)) {
            return TeacherForcing.logits(m, tokens, 1);
        }
    }

    /** The largest logit difference at positions 128 and on (past the YaRN run's original context). */
    private static double differencePast128(float[][] a, float[][] b) {
        double worst = 0;
        for (int p = 128; p < a.length; p++) {
            for (int v = 0; v < a[p].length; v++) worst = Math.max(worst, Math.abs(a[p][v] - b[p][v]));
        }
        return worst;
    }

    /**
     * The reference, CPU and OpenCL backends give the same logits with YaRN, within what separates
     * them anyway (the reference's FP16 weights against the file's F32: we see 0.11; OpenCL's float
     * sums in another order), and YaRN moves the logits about 100 times further (10.8): each backend
     * applies the scaling, the same way. (Greedy ids are no test here: a near-tie somewhere in 300
     * tokens of a tiny model goes either way between FP16 and F32 weights.)
     */
    @Test
    void backendsAgreeWithYarn() throws IOException {
        float[][] cpu = logits("cpu", STORIES_YARN);
        double yarnEffect = differencePast128(cpu, logits("cpu", RopeOverrides.NONE));
        double reference = differencePast128(cpu, logits("reference", STORIES_YARN));
        assertTrue(reference < 0.3 && yarnEffect > 20 * reference, "reference differs by " + reference + ", YaRN moves logits by " + yarnEffect);
        OpenClTestDevice.require();
        double opencl = differencePast128(cpu, logits("opencl", STORIES_YARN));
        assertTrue(opencl < 0.05, "opencl differs by " + opencl + ", YaRN moves logits by " + yarnEffect);
    }

    /** What loading the bundled model with this context says on stderr. */
    private static List<String> load(int context, RopeOverrides rope) throws IOException {
        List<String> log = new ArrayList<>();
        Log.setSink(log::add);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, context, 64), null, rope)) {
            assertEquals(context, m.contextLength());
        } finally {
            Log.setSink(null);
        }
        return log;
    }

    /** Past the trained context llama.cpp runs and warns once; so does Ternion, unless scaling reaches that far. */
    @Test
    void contextPastTheModelsWarnsOnce() throws IOException {
        assertEquals(List.of(), load(2048, RopeOverrides.NONE));
        List<String> log = load(4096, RopeOverrides.NONE);
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.getFirst().contains("4096") && log.getFirst().contains("2048") && log.getFirst().contains("no rope scaling"), log.getFirst());
        RopeOverrides yarn4 = new RopeOverrides(RopeScalingConfig.Type.YARN, 4f, null, null, null, null, null, null, null);
        assertEquals(List.of(), load(8192, yarn4));
        log = load(16384, yarn4);
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.getFirst().contains("past the 8192 that yarn ×4 of 2048 rope scaling reaches"), log.getFirst());
    }
}
