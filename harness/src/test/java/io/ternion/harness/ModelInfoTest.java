package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelInfoTest {

    @Test
    void theTypeIsTheOneWithTheMostParametersNotBytes(@TempDir Path dir) throws IOException {
        // As in BitNet 2B4T: the F16 embedding has more bytes (25,600) than the ternary matrix
        // (16 KiB and a scale), but a fifth of its parameters.
        Path p = dir.resolve("m.gguf");
        new GgufWriter().putString("general.architecture", "bitnet-b1.58")
                .addTensor(Tensor.of("token_embd.weight", GgmlType.F16, new long[] {128, 100}, new byte[128 * 100 * 2]))
                .addTensor(Tensor.of("blk.0.ffn_up.weight", GgmlType.I2_S, new long[] {128, 512},
                        new byte[(int) GgmlType.I2_S.byteSize(128 * 512)]))
                .write(p);
        ModelInfo m = ModelInfo.read(p);
        assertEquals("I2_S", m.type());
        assertEquals("bitnet-b1.58", m.architecture());
        assertEquals(128 * 100 + 128 * 512, m.parameters());
        assertEquals(p.toString(), m.file());
        assertEquals(m.sizeBytes(), m.weightBytesPerToken(), "tied head: the whole embedding is read per token");
    }
}
