package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufPopulateTest {

    @Test
    void populatingAMappedFileLeavesItResidentAndUnchanged(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("m.gguf");
        byte[] tensor = new byte[3 * 4096 + 16]; // pages and a tail
        for (int i = 0; i < tensor.length; i++) tensor[i] = (byte) (i * 31);
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("t", GgmlType.F32, new long[] {tensor.length / 4}, () -> MemorySegment.ofArray(tensor)).write(path);
        try (GgufFile f = GgufFile.open(path)) {
            assertTrue(f.segment().isMapped());
            f.populate();
            assertTrue(f.segment().isLoaded(), "every page resident after populate");
            Tensor t = f.tensor("t");
            assertArrayEquals(tensor, t.data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void aFileInMemoryIsLeftAlone() throws Exception {
        byte[] bytes = Files.readAllBytes(TestData.require("models/stories260K.gguf"));
        GgufFile f = GgufFile.read("heap", MemorySegment.ofArray(bytes));
        assertFalse(f.segment().isMapped());
        f.populate(); // must not throw: load() is for mapped segments only
    }
}
