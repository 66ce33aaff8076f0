package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgufFile;
import io.ternion.gguf.TensorInfo;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Peer models with one weight byte changed, loaded on the cpu backend and run for four greedy
 * tokens in this JVM (a crash would end the test run): each gives its tokens or, for a code that no
 * quantizer writes and the packed kernels cannot hold, one error naming the tensor and the byte.
 * The first two are the bytes a fuzz run reported as crashing the JVM (issue #18); the others put
 * each format's impossible or unusual codes into a weight tensor.
 */
class HostileWeightsTest {
    /** A tensor's byte: where (in the file, or into a named tensor's data) and its new value. */
    record Patch(String model, String tensor, long offset, int value, String error) {
        @Override public String toString() {
            return model + (tensor == null ? "" : " " + tensor) + " byte " + offset + " = 0x" + Integer.toHexString(value);
        }
    }

    static Stream<Arguments> patches() {
        return Stream.of(
                // As reported: a TQ1_0 qs byte of blk.2.ffn_gate.weight, and a byte of the F16 output.weight.
                new Patch("public-bitnet-tq1_0", null, 751655, 0x0a, null),
                new Patch("public-llama-tq2_0", null, 1275786, 0xd1, null),
                // TQ1_0 bytes above 242 in qs (block 42's byte 43) and in qh (its byte 49).
                new Patch("public-bitnet-tq1_0", "blk.2.ffn_gate.weight", 42 * 54 + 43, 0xff, null),
                new Patch("public-bitnet-tq1_0", "blk.2.ffn_gate.weight", 42 * 54 + 49, 0xf3, null),
                // A TQ1_0 byte the quantizer never writes.
                new Patch("public-bitnet-tq1_0", "blk.0.attn_q.weight", 7, 0x01, null),
                // Code 3 (0xd1 = 11 01 00 01): row 5 of blk.1.ffn_gate.weight, block 0, byte 7.
                new Patch("public-llama-tq2_0", "blk.1.ffn_gate.weight", 5 * 66 + 7, 0xd1,
                        "blk.1.ffn_gate.weight TQ2_0 [256, 1024]: byte 0xd1 at offset 337 of its data (row 5, block 0) holds code 3"),
                new Patch("public-bitnet158-i2_s", "blk.1.ffn_up.weight", 1000, 0xff,
                        "blk.1.ffn_up.weight I2_S [256, 512]: byte 0xff at offset 1000 of its data (row 15, block 1) holds code 3"),
                // Q1_0 has no impossible code: any bits are ±d.
                new Patch("public-qwen3-q1_0", "blk.0.ffn_down.weight", 2 + 18 * 3, 0xa5, null))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("patches")
    void endsWithTokensOrOneClearError(Patch p, @TempDir Path dir) throws IOException {
        Path original = TestData.require("peer-cases/models/" + p.model() + ".gguf");
        byte[] bytes = Files.readAllBytes(original);
        long at = p.offset();
        if (p.tensor() != null) {
            try (GgufFile f = GgufFile.open(original)) {
                TensorInfo t = f.findTensor(p.tensor()).orElseThrow();
                assertTrue(p.offset() < t.byteSize(), p + ": past the tensor");
                at += f.dataOffset() + t.offset();
            }
        }
        assertTrue(bytes[(int) at] != (byte) p.value(), p + ": the byte already has that value");
        bytes[(int) at] = (byte) p.value();
        Path file = Files.write(dir.resolve(p.model() + "-patched.gguf"), bytes);

        Model.Options cpu = new Model.Options("cpu", 2, 64, 64);
        if (p.error() != null) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Model.load(file, cpu).close(), p.toString());
            assertTrue(e.getMessage().startsWith(p.error()), () -> p + ": want '" + p.error() + "...', got '" + e.getMessage() + "'");
            return;
        }
        try (Model m = Model.load(file, cpu)) {
            int[] prompt = m.tokenizer().encode("Hello");
            Session.Result r = m.newSession().generate(prompt, 4, SamplerParams.GREEDY, (id, t) -> true);
            assertTrue(r.tokens().length > 0 && r.tokens().length <= 4, p + ": " + r.tokens().length + " tokens");
            for (int id : r.tokens()) assertTrue(id >= 0 && id < m.config().vocabSize(), p + ": token " + id);
            assertTrue(r.stop() == Session.StopReason.MAX_TOKENS || r.stop() == Session.StopReason.END_OF_TEXT, p + ": stopped by " + r.stop());
        }
    }
}
