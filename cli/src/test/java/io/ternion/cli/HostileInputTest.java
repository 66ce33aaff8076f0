package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufArray;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.MetadataType;
import io.ternion.gguf.MetadataValue;
import io.ternion.gguf.Tensor;
import io.ternion.gguf.TensorInfo;
import io.ternion.kernels.gpu.OpenClTestDevice;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input, made here rather than checked in: each case is one error line naming the problem
 * and exit code 2, quickly, with no stack trace; never a crash, a hang or a huge allocation.
 */
class HostileInputTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    @TempDir
    static Path dir;
    /** A tiny llama model to corrupt one way at a time. */
    static Path tiny;

    @BeforeAll
    static void writeTinyModel() throws IOException {
        tiny = dir.resolve("tiny-llama.gguf");
        Synth.write(Preset.ALL.get("tiny-llama"), GgmlType.TQ2_0, 3, null, tiny);
    }

    /** The error ternion gives for {@code args}: exit 2, one line on stderr naming the problem, nothing on stdout. */
    static String error(String... args) {
        return error(System.in, args);
    }

    /** {@link #error(String...)} with {@code stdin} as standard input. */
    static String error(java.io.InputStream stdin, String... args) {
        Result r = assertTimeoutPreemptively(LIMIT, () -> ternion(stdin, args), () -> String.join(" ", args));
        assertEquals(2, r.code(), () -> String.join(" ", args) + "\nstdout: " + r.out() + "\nstderr: " + r.err());
        assertFalse(r.err().contains("\tat "), () -> "a stack trace: " + r.err());
        String last = r.err().strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.startsWith("ternion: error: "), r.err());
        return last.substring("ternion: error: ".length());
    }

    /** A copy of the tiny model with metadata values replaced (or removed, for a null value). */
    static Path withMetadata(String name, Map<String, MetadataValue> changes) throws IOException {
        return rewrite(name, w -> changes.forEach(w::put), Map.of());
    }

    /** A copy of the tiny model with {@code edits} applied to its metadata, and named tensors' bytes changed. */
    static Path rewrite(String name, Consumer<GgufWriter> edits, Map<String, Consumer<MemorySegment>> tensorEdits) throws IOException {
        Path out = dir.resolve(name + ".gguf");
        try (GgufFile f = GgufFile.open(tiny)) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            edits.accept(w);
            for (TensorInfo ti : f.tensors()) {
                Tensor t = f.tensor(ti.name());
                Consumer<MemorySegment> edit = tensorEdits.get(ti.name());
                if (edit == null) {
                    w.addTensor(t);
                } else {
                    MemorySegment copy = MemorySegment.ofArray(t.data().toArray(ValueLayout.JAVA_BYTE));
                    edit.accept(copy);
                    w.addTensor(new Tensor(t.name(), t.type(), t.shape(), copy));
                }
            }
            w.write(out);
        }
        return out;
    }

    static Stream<Arguments> badHyperparameters() {
        return Stream.of(
                Arguments.of("heads times head size overflows", Map.of("llama.attention.head_count", MetadataValue.uint32(65536),
                        "llama.attention.head_count_kv", MetadataValue.uint32(65536), "llama.attention.key_length", MetadataValue.uint32(65536)),
                        "llama.attention"),
                Arguments.of("ffn near 2^31", Map.of("llama.feed_forward_length", MetadataValue.uint32(0x7fff_fff0L)), "feed_forward_length"),
                Arguments.of("embedding near 2^31", Map.of("llama.embedding_length", MetadataValue.uint32(0x7fff_fff0L)), "embedding_length"),
                Arguments.of("vocabulary past the tokens", Map.of("llama.vocab_size", MetadataValue.uint32(1 << 30)), "vocab"),
                Arguments.of("negative rope dims", Map.of("llama.rope.dimension_count", MetadataValue.int32(-4)), "rope.dimension_count"),
                Arguments.of("rope dims past the head", Map.of("llama.rope.dimension_count", MetadataValue.uint32(4096)), "rope.dimension_count"),
                Arguments.of("odd rope dims", Map.of("llama.rope.dimension_count", MetadataValue.uint32(7)), "rope.dimension_count"),
                Arguments.of("negative context", Map.of("llama.context_length", MetadataValue.int32(-1)), "context_length"),
                Arguments.of("huge block count", Map.of("llama.block_count", MetadataValue.uint32(1 << 30)), "block_count"),
                Arguments.of("NaN epsilon", Map.of("llama.attention.layer_norm_rms_epsilon", MetadataValue.float32(Float.NaN)), "epsilon"),
                Arguments.of("zero rope base", Map.of("llama.rope.freq_base", MetadataValue.float32(0)), "freq_base"),
                Arguments.of("unknown rope scaling", Map.of("llama.rope.scaling.type", MetadataValue.string("longrope")), "llama.rope.scaling.type is 'longrope'"),
                Arguments.of("rope scaling type not a string", Map.of("llama.rope.scaling.type", MetadataValue.uint32(2)), "rope.scaling.type is not a string"),
                Arguments.of("negative rope factor", Map.of("llama.rope.scaling.factor", MetadataValue.float32(-4)), "rope.scaling.factor is -4"),
                Arguments.of("NaN linear scale", Map.of("llama.rope.scale_linear", MetadataValue.float32(Float.NaN)), "rope.scale_linear is NaN"),
                Arguments.of("huge rope factor", Map.of("llama.rope.scaling.factor", MetadataValue.float32(1e30f)), "rope.scaling.factor"),
                Arguments.of("zero original context", Map.of("llama.rope.scaling.original_context_length", MetadataValue.uint32(0)),
                        "rope.scaling.original_context_length"),
                Arguments.of("infinite attn factor", Map.of("llama.rope.scaling.attn_factor", MetadataValue.float32(Float.POSITIVE_INFINITY)),
                        "rope.scaling.attn_factor"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badHyperparameters")
    void hyperparametersThatDoNotFitAreNamed(String label, Map<String, MetadataValue> changes, String named) throws IOException {
        Path f = withMetadata(label.replace(' ', '-'), changes);
        String e = error("run", "-m", f.toString(), "-p", "Hello", "-n", "4", "--temp", "0", "-t", "1");
        assertTrue(e.contains(named), e);
    }

    /** The tiny model's SentencePiece vocabulary with one byte token's text cut short, or its types and scores out of step with its tokens. */
    @Test
    void brokenVocabulariesAreNamed() throws IOException {
        String[] tokens;
        int[] types;
        try (GgufFile f = GgufFile.open(tiny)) {
            tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
            types = f.metadata().getIntArray("tokenizer.ggml.token_type");
        }
        int byteToken = java.util.Arrays.asList(tokens).indexOf("<0x41>");
        assertTrue(byteToken >= 0 && types[byteToken] == 6, "the tiny vocabulary has byte tokens");
        String[] shortened = tokens.clone();
        shortened[byteToken] = "<0x4";
        Path f = withMetadata("short-byte-token", Map.of("tokenizer.ggml.tokens", MetadataValue.array(GgufArray.ofStrings(shortened))));
        String e = error("run", "-m", f.toString(), "-p", "Hello", "-n", "4", "--temp", "0");
        assertTrue(e.contains("byte token") && e.contains("<0x4"), e);
        f = withMetadata("short-types", Map.of("tokenizer.ggml.token_type",
                MetadataValue.array(new GgufArray(MetadataType.INT32, java.util.Arrays.copyOf(types, 300)))));
        e = error("run", "-m", f.toString(), "-p", "Hello", "-n", "4", "--temp", "0");
        assertTrue(e.contains("token_type") && e.contains("300"), e);
        f = withMetadata("huge-bos", Map.of("tokenizer.ggml.bos_token_id", MetadataValue.uint32(1L << 31)));
        e = error("run", "-m", f.toString(), "-p", "Hello", "-n", "4", "--temp", "0");
        assertTrue(e.contains("bos token id"), e);
    }

    @Test
    void notRegularFilesAreRefused() throws Exception {
        Path fifo = dir.resolve("fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        for (String path : new String[] {dir.toString(), fifo.toString(), "/dev/zero"}) {
            assertTrue(error("run", "-m", path, "-p", "Hi").contains("not a regular file"), path);
            assertTrue(error("run", "-m", tiny.toString(), "-f", path).contains("not a regular file"), path);
            assertTrue(error("run", "-m", tiny.toString(), "-p", "Hi", "--tokenizer", path).contains("not a regular file"), path);
        }
        assertTrue(error("info", "-m", dir.toString()).contains("not a regular file"));
        assertTrue(error("bench", "-m", bundledModel().toString(), "--baseline", "/dev/zero").contains("not a regular file"));
        OpenClTestDevice.require();
        System.setProperty("ternion.opencl.config", "/dev/zero");
        try {
            assertTrue(error("run", "-m", bundledModel().toString(), "-p", "Hi", "--backend", "opencl").contains("not a regular file"));
        } finally {
            System.clearProperty("ternion.opencl.config");
        }
    }

    /** Standard input without end, as /dev/zero would be: one line with no newline. */
    static java.io.InputStream endless() {
        return new java.io.InputStream() {
            @Override public int read() { return 'a'; }
        };
    }

    @Test
    void anEndlessChatLineIsRefused() {
        assertTrue(error(endless(), "chat", "-m", bundledModel().toString()).contains("a chat message may be at most 8 MiB"));
    }

    @Test
    void aHugePromptFileIsRefusedBeforeItIsTokenized() throws IOException {
        Path big = dir.resolve("big.txt");
        byte[] line = "All work and no play makes Jack a dull boy. ".repeat(1000).getBytes();
        try (var out = Files.newOutputStream(big)) {
            for (int i = 0; i < 60_000_000 / line.length; i++) out.write(line);
        }
        String e = error("run", "-m", tiny.toString(), "-f", big.toString(), "-n", "1");
        assertTrue(e.contains("big.txt") && e.contains("MiB"), e);
    }

    @Test
    void standardInputIsAPromptFileToo() {
        Result r = ternion(new java.io.ByteArrayInputStream("Once upon a time".getBytes()), "run", "-m", bundledModel().toString(), "-f", "-",
                "-n", "27", "--temp", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time, there was a little girl named Lily."), r.out());
        assertTrue(error(endless(), "run", "-m", bundledModel().toString(), "-f", "-").contains("at most 8.0 MiB"));
    }

    @Test
    void compareChecksTheLengthAgainstTheContext() {
        String e = error("compare", "-m", bundledModel().toString(), "-n", "100000", "--backends", "cpu");
        assertTrue(e.contains("-n") && e.contains("context"), e);
    }

    /** A NaN in a norm's weights (found at load) and an infinity in the embedding (found at the first logits): named, not printed as text. */
    @Test
    void nonFiniteWeightsAreNamed() throws IOException {
        Path norm = rewrite("nan-norm", w -> { }, Map.of("blk.1.ffn_norm.weight", s -> s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 8, Float.NaN)));
        String e = error("run", "-m", norm.toString(), "-p", "Hello", "-n", "4", "--temp", "0");
        assertTrue(e.contains("blk.1.ffn_norm.weight") && e.contains("not finite"), e);
        // Every element of the embedding table an infinity (F16 0x7c00): whatever the prompt, its row is read.
        Path embd = rewrite("inf-embedding", w -> { }, Map.of("token_embd.weight", s -> {
            for (long i = 0; i < s.byteSize(); i += 2) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) 0x7c00);
        }));
        e = error("run", "-m", embd.toString(), "-p", "Hello", "-n", "4", "--temp", "0");
        assertTrue(e.contains("token_embd.weight") && e.contains("not finite"), e);
        e = error("compare", "-m", embd.toString(), "-p", "Hello", "-n", "4", "--backends", "cpu");
        assertTrue(e.contains("token_embd.weight") && e.contains("not finite"), e);
        // On the GPU, greedy decoding reads back only the argmax, which says -1 for non-finite logits.
        OpenClTestDevice.require();
        e = error("run", "-m", embd.toString(), "-p", "Hello", "-n", "4", "--temp", "0", "--backend", "opencl", "--device", "0");
        assertTrue(e.contains("token_embd.weight") && e.contains("not finite"), e);
    }
}
