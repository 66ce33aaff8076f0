package io.ternion.synth;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.engine.Model;
import io.ternion.engine.ModelConfig;
import io.ternion.engine.TeacherForcing;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.TensorInfo;
import io.ternion.graph.Activation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SynthTest {
    @TempDir
    Path dir;

    /** The chat template a tokenizer carries (synth --tokenizer reads it from tokenizer_config.json) goes into the file. */
    @Test
    void carriesAChatTemplate() throws IOException {
        Path f = dir.resolve("templated.gguf");
        Synth.write(Preset.ALL.get("tiny-llama"), GgmlType.TQ2_0, 1, null, "{{ messages[0]['content'] }}", f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("{{ messages[0]['content'] }}", g.metadata().getString("tokenizer.chat_template"));
        }
        Path plain = dir.resolve("plain.gguf");
        Synth.write(Preset.ALL.get("tiny-llama"), GgmlType.TQ2_0, 1, null, plain);
        try (GgufFile g = GgufFile.open(plain)) {
            assertFalse(g.metadata().has("tokenizer.chat_template"));
        }
    }

    /** A tokenizer larger than the preset's rows is refused naming the family to use; a much smaller one is written with a warning. */
    @Test
    void aTokenizerThatDoesNotFitThePresetSaysWhatToDo() throws IOException {
        Preset tiny = Preset.ALL.get("tiny-qwen3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Synth.write(tiny, GgmlType.Q1_0, 1, Synth.builtin(600), dir.resolve("big.gguf")));
        assertTrue(e.getMessage().contains("the tokenizer has 600 tokens, more than the 512 rows of tiny-qwen3's embedding and output: give the"
                + " tokenizer.json of Qwen3"), e.getMessage());
        List<String> log = new ArrayList<>();
        io.ternion.graph.Log.setSink(log::add);
        try {
            Synth.write(tiny, GgmlType.Q1_0, 1, Synth.builtin(300), dir.resolve("small.gguf"));
        } finally {
            io.ternion.graph.Log.setSink(null);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("the tokenizer has 300 tokens and tiny-qwen3 has 512 rows: the rest become padding")
                && l.contains("is it the tokenizer of Qwen3")), log.toString());
        try (GgufFile g = GgufFile.open(dir.resolve("small.gguf"))) {
            assertEquals(512, g.metadata().getArray("tokenizer.ggml.tokens").length());
        }
    }

    static Stream<Arguments> tinyModels() {
        List<Arguments> out = new ArrayList<>();
        for (String name : Preset.names()) {
            Preset p = Preset.ALL.get(name);
            if (!name.startsWith("tiny-")) continue;
            for (GgmlType t : p.types()) out.add(Arguments.of(name, t));
        }
        return out.stream();
    }

    /**
     * The cpu backend (activations quantized as each format's reference engine does) against the FP16
     * reference (no activation quantization), fed the same 48 tokens. On random tiny models the top
     * two logits are often close, so some flips are expected; 85% top-1 agreement is well above
     * chance (1/512) and fails for any real kernel bug.
     */
    static final double MIN_TOP1_AGREEMENT = 0.85;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("tinyModels")
    void cpuAgreesWithTheReferenceTeacherForced(String preset, GgmlType type) throws IOException {
        Path f = dir.resolve(preset + "-" + type + ".gguf");
        Synth.write(Preset.ALL.get(preset), type, 7, null, f);
        int[] tokens = new int[48];
        for (int i = 0; i < tokens.length; i++) tokens[i] = i == 0 ? 1 : 259 + (i * 37) % 253;
        float[][] ref, cpu, cpuStepwise;
        try (Model m = Model.load(f, new Model.Options("reference", 1, 64, 64))) { ref = TeacherForcing.logits(m, tokens, 64); }
        try (Model m = Model.load(f, new Model.Options("cpu", 2, 64, 64))) { cpu = TeacherForcing.logits(m, tokens, 64); }
        try (Model m = Model.load(f, new Model.Options("cpu", 2, 64, 1))) { cpuStepwise = TeacherForcing.logits(m, tokens, 1); }
        int agree = 0;
        for (int i = 0; i < tokens.length; i++) if (argmax(ref[i]) == argmax(cpu[i])) agree++;
        assertTrue(agree >= MIN_TOP1_AGREEMENT * tokens.length, preset + " " + type + ": top-1 agreement " + agree + "/" + tokens.length);
        // The matrix-matrix (prompt) and matrix-vector (decode) kernels compute the same integer sums.
        for (int i = 0; i < tokens.length; i++) {
            for (int v = 0; v < cpu[i].length; v++) {
                assertEquals(cpuStepwise[i][v], cpu[i][v], 1e-3f, preset + " " + type + ": position " + i + " logit " + v);
            }
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    @Test
    void realPresetsHaveTheRealNamesShapesAndKeys() throws IOException {
        // The tiny presets share the writer with the real ones; check the real layout on a tiny file.
        Path f = dir.resolve("bitnet.gguf");
        Synth.write(Preset.ALL.get("tiny-bitnet-b1.58"), GgmlType.I2_S, 1, null, f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("bitnet-b1.58", g.architecture());
            assertEquals(40, g.metadata().getInt("general.file_type"));
            assertEquals(2 + 2 * 11, g.tensors().size(), "token_embd, output_norm and 11 per layer, tied head");
            assertTrue(g.findTensor("output.weight").isEmpty());
            assertEquals(GgmlType.I2_S, g.findTensor("blk.1.ffn_down.weight").orElseThrow().type());
            assertArrayEquals(new long[] {512, 256}, g.findTensor("blk.1.ffn_down.weight").orElseThrow().shape());
            assertEquals(GgmlType.F16, g.findTensor("token_embd.weight").orElseThrow().type());
            ModelConfig c = ModelConfig.from(g);
            assertEquals(Activation.RELU_SQUARED, c.activation());
            // absmean ternary: one magnitude per matrix
            float[] w = g.tensor("blk.0.attn_q.weight").dequantize();
            float s = 0;
            for (float x : w) if (x != 0) { if (s == 0) s = Math.abs(x); assertEquals(s, Math.abs(x)); }
            assertTrue(s > 0);
        }
        Path tq = dir.resolve("bitnet-tq.gguf");
        Synth.write(Preset.ALL.get("tiny-bitnet"), GgmlType.TQ2_0, 1, null, tq);
        try (GgufFile g = GgufFile.open(tq)) {
            assertEquals("bitnet", g.architecture());
            assertEquals(37, g.metadata().getInt("general.file_type"));
            TensorInfo scale = g.findTensor("blk.0.attn_q.scale").orElseThrow();
            assertEquals(GgmlType.F32, scale.type());
            assertTrue(g.tensor(scale).dequantize()[0] > 0);
            for (float x : g.tensor("blk.0.attn_q.weight").dequantize()) assertTrue(x == 0 || Math.abs(x) == 1, "unit codes");
        }
    }

    /**
     * The 2B4T shape in TQ types is written as upstream llama.cpp's 'bitnet', which every peer runs
     * SiLU-gated (none maps a name to squared ReLU), so it carries no hidden_activation and Ternion
     * reads it as SiLU too; its scales stay in the blocks as upstream's converter writes them. I2_S
     * keeps bitnet.cpp's 'bitnet-b1.58', squared ReLU in both.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = GgmlType.class, names = {"TQ1_0", "TQ2_0", "I2_S"})
    void bitnet158PresetsMeanWhatThePeerThatLoadsThemRuns(GgmlType type) throws IOException {
        Path f = dir.resolve("b158-" + type + ".gguf");
        Synth.write(Preset.ALL.get("tiny-bitnet-b1.58"), type, 1, null, f);
        try (GgufFile g = GgufFile.open(f)) {
            boolean upstream = type != GgmlType.I2_S;
            String arch = upstream ? "bitnet" : "bitnet-b1.58";
            assertEquals(arch, g.architecture());
            assertFalse(g.metadata().has(arch + ".hidden_activation"), "a key no peer runs as squared ReLU");
            assertEquals(upstream ? Activation.SILU : Activation.RELU_SQUARED, ModelConfig.from(g).activation());
            assertTrue(g.findTensor("blk.0.attn_q.scale").isEmpty(), "the scale is in the blocks");
            assertNotNull(g.findTensor("blk.0.attn_sub_norm.weight").orElse(null), "sub-norms, which both peers' graphs read");
            assertNotNull(g.findTensor("blk.0.ffn_sub_norm.weight").orElse(null));
        }
    }

    @Test
    void wrongTypeOrPresetIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Synth.write(Preset.ALL.get("bonsai-8b"), GgmlType.TQ2_0, 1, null, dir.resolve("x.gguf")));
        assertTrue(e.getMessage().contains("comes in [q1_0]"), e.getMessage());
    }
}
