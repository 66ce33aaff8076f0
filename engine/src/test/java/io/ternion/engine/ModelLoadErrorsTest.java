package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgufFile;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.TensorInfo;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoadErrorsTest {

    /** A copy of stories260K with one metadata key or tensor changed. */
    private static Path variant(Path dir, String architecture, String dropTensor) throws IOException {
        Path out = dir.resolve("variant.gguf");
        try (GgufFile f = GgufFile.open(TestData.bundledModel())) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            if (architecture != null) {
                w.putString("general.architecture", architecture);
                for (String k : f.metadata().keys()) {
                    if (k.startsWith("llama.")) w.put(architecture + k.substring(5), f.metadata().get(k));
                }
            }
            for (TensorInfo t : f.tensors()) if (!t.name().equals(dropTensor)) w.addTensor(f.tensor(t));
            w.write(out);
        }
        return out;
    }

    @Test
    void anUnknownArchitectureIsNamed(@TempDir Path dir) throws IOException {
        Path p = variant(dir, "gptj", null);
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p, new Model.Options("reference", 1, 0, 16)));
        assertTrue(e.getMessage().contains("architecture 'gptj' is not supported"), e.getMessage());
    }

    @Test
    void aMissingTensorIsNamed(@TempDir Path dir) throws IOException {
        Path p = variant(dir, null, "blk.3.ffn_up.weight");
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p, new Model.Options("cpu", 1, 0, 16)));
        assertEquals(p + ": tensor 'blk.3.ffn_up.weight' is missing (architecture llama)", e.getMessage());
    }

    @Test
    void theSameTensorsUnderBitnetNeedTheSubNorms(@TempDir Path dir) throws IOException {
        // bitnet-b1.58 is llama plus sub-norms: the graph asks for them by name.
        Path p = variant(dir, "bitnet-b1.58", null);
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p, new Model.Options("cpu", 1, 0, 16)));
        assertTrue(e.getMessage().contains("tensor 'blk.0.attn_sub_norm.weight' is missing"), e.getMessage());
    }
}
