package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
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
            assertTrue(f.mapping().isMapped());
            f.populate();
            assertTrue(f.mapping().isLoaded(), "every page resident after populate");
            Tensor t = f.tensor("t");
            assertArrayEquals(tensor, t.data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void aMappedFilesTensorsAreReadOnlyPlainNativeSegmentsAsRepackedWeightsAre(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("m.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("t", GgmlType.F32, new long[] {1024}, () -> MemorySegment.ofArray(new byte[4096])).write(path);
        try (GgufFile f = GgufFile.open(path); Arena arena = Arena.ofConfined()) {
            MemorySegment data = f.tensor("t").data();
            // One segment class for every weight a kernel reads: C2 profiles it in the Vector API's shared load code.
            assertEquals(arena.allocate(8).getClass(), data.getClass());
            assertFalse(data.isMapped());
            assertTrue(data.isReadOnly(), "the file is mapped read-only, and its view says so");
            assertThrows(IllegalArgumentException.class, () -> data.set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
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
