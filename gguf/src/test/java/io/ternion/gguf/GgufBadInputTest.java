package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One deliberately broken file per way a GGUF file can be wrong. Each must be refused with a
 * {@link GgufFormatException} whose offset is the byte where the problem is (worked out from how
 * the file was built, not copied from the parser) and whose message is one line naming the file
 * and the problem.
 */
class GgufBadInputTest {

    private static final long ALIGN = GgufFile.DEFAULT_ALIGNMENT;

    /** Parses {@code b} as {@code source} and checks the error it must cause. */
    private static GgufFormatException rejects(GgufBytes b, String source, long offset, String... words) {
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> {
            try (GgufFile f = b.read(source)) {
                fail(source + " should be rejected but parsed as " + f.tensors());
            }
        });
        checkMessage(e, source, offset, words);
        return e;
    }

    private static void checkMessage(GgufFormatException e, String source, long offset, String... words) {
        String msg = e.getMessage();
        assertEquals(offset, e.offset(), () -> "wrong offset in: " + msg);
        assertEquals(source, e.source());
        assertFalse(msg.contains("\n") || msg.contains("\r"), () -> "message is not one line: " + msg);
        assertTrue(msg.startsWith(source + ": at byte " + offset + ": "), () -> "message should name the file and byte: " + msg);
        for (String w : words) {
            assertTrue(msg.toLowerCase(Locale.ROOT).contains(w.toLowerCase(Locale.ROOT)),
                    () -> "message should mention '" + w + "': " + msg);
        }
    }

    // ---- header ----

    @Test
    void emptyFile() {
        rejects(new GgufBytes(), "empty.gguf", 0, "not a GGUF file", "0 bytes");
    }

    @Test
    void fileShorterThanTheMagic() {
        rejects(new GgufBytes().raw('G', 'G'), "two-bytes.gguf", 0, "not a GGUF file", "2 bytes");
    }

    @Test
    void fileShorterThanTheHeader() {
        // Magic and version are there; the tensor count at byte 8 has only 4 of its 8 bytes.
        GgufBytes b = new GgufBytes().magic().u32(3).u32(0);
        rejects(b, "short-header.gguf", 8, "truncated", "4 left");
    }

    @Test
    void wrongMagic() {
        GgufBytes b = new GgufBytes().raw('G', 'G', 'M', 'L').u32(3).u64(0).u64(0);
        rejects(b, "ggml.bin", 0, "magic", "47474d4c");
    }

    @Test
    void unknownVersion() {
        rejects(GgufBytes.header(4, 0, 0), "v4.gguf", 4, "version 4", "unknown");
    }

    @Test
    void versionOneIsRefused() {
        // v1 had 32-bit counts; reading it with v2 offsets would misparse every field after the header.
        rejects(new GgufBytes().magic().u32(1).u32(0).u32(0).zeros(8), "v1.gguf", 4, "version 1", "no longer supported");
    }

    @Test
    void bigEndianVersion() {
        // A big-endian writer stores version 3 as 00 00 00 03, which reads little-endian as 0x03000000.
        GgufBytes b = new GgufBytes().magic().raw(0, 0, 0, 3).raw(new byte[16]);
        rejects(b, "big-endian.gguf", 4, "big-endian");
    }

    @Test
    void tensorCountOfTwoToThe62() {
        rejects(GgufBytes.header(3, 1L << 62, 0), "many-tensors.gguf", 8, "tensor count 4611686018427387904");
    }

    @Test
    void metadataCountLargerThanTheFile() {
        GgufBytes b = GgufBytes.header(3, 0, 1000).kvU32("a.b", 1);
        rejects(b, "many-kvs.gguf", 16, "metadata count 1000");
    }

    // ---- metadata ----

    @Test
    void keyLengthLargerThanTheFile() {
        GgufBytes b = GgufBytes.header(3, 0, 1).string(1000, "general.name");
        rejects(b, "long-key.gguf", 24, "length 1000", "larger than");
    }

    @Test
    void stringLengthOfTwoToThe63MinusOne() {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("general.name", MetadataType.STRING);
        int at = b.pos();
        b.u64(Long.MAX_VALUE).raw('x');
        rejects(b, "long-string.gguf", at, "general.name", "9223372036854775807");
    }

    @Test
    void keyLongerThanTheSpecAllows() {
        // Keys are echoed in every error about them, so one swallowing the file must stop here.
        GgufBytes b = GgufBytes.header(3, 0, 1);
        int at = b.pos();
        b.string("k".repeat(GgufFile.MAX_KEY_BYTES + 1)).u32(MetadataType.UINT8.id).u8(0);
        rejects(b, "long-key-name.gguf", at, "metadata key 0", "65536", "65535 bytes allowed");
    }

    @Test
    void boolValueOfTwo() {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("x.flag", MetadataType.BOOL);
        int at = b.pos();
        b.u8(2);
        rejects(b, "bool2.gguf", at, "x.flag", "BOOL with value 2");
    }

    @Test
    void unknownMetadataValueType() {
        GgufBytes b = GgufBytes.header(3, 0, 1).string("x.y");
        int at = b.pos();
        b.u32(13).zeros(8);
        rejects(b, "value-type.gguf", at, "x.y", "unknown value type 13");
    }

    @Test
    void unknownArrayElementType() {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("x.list", MetadataType.ARRAY);
        int at = b.pos();
        b.arrayHeader(13, 1).zeros(8);
        rejects(b, "array-type.gguf", at, "x.list", "unknown type 13");
    }

    @Test
    void arraysNestedTooDeep() {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("x.deep", MetadataType.ARRAY);
        for (int depth = 0; depth < GgufFile.MAX_ARRAY_NESTING; depth++) b.arrayHeader(MetadataType.ARRAY, 1);
        int at = b.pos(); // the array one level too deep starts here
        b.arrayHeader(MetadataType.ARRAY, 1).zeros(64);
        rejects(b, "deep.gguf", at, "x.deep", "deeper than 16");
    }

    @Test
    void arrayCountOfTwoToThe40Uint64() {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("x.big", MetadataType.ARRAY);
        int countAt = b.pos() + 4; // after the element type
        b.arrayHeader(MetadataType.UINT64, 1L << 40).zeros(64);
        rejects(b, "big-array.gguf", countAt, "x.big", "1099511627776", "UINT64");
    }

    @Test
    void duplicateKey() {
        GgufBytes b = GgufBytes.header(3, 0, 2).kvU32("a.b", 1);
        int at = b.pos();
        b.kvU32("a.b", 2);
        rejects(b, "dup-key.gguf", at, "'a.b'", "twice");
    }

    @Test
    void alignmentNotAPowerOfTwo() {
        GgufBytes b = GgufBytes.header(3, 0, 1);
        int at = b.pos(); // alignment errors point at the key, where its value can be found
        b.kvU32("general.alignment", 48);
        rejects(b, "align48.gguf", at, "general.alignment = 48", "power of two");
    }

    @Test
    void keyWithALineBreakStillGivesOneLine() {
        // Names come from the file, so a hostile file could otherwise forge extra log lines.
        GgufBytes b = GgufBytes.header(3, 0, 1).string("evil\nkey\r");
        int at = b.pos();
        b.u32(13).zeros(8);
        rejects(b, "newline-key.gguf", at, "evil\\nkey\\r", "unknown value type 13");
    }

    // ---- tensor infos ----

    @Test
    void duplicateTensorName() {
        GgufBytes b = GgufBytes.header(3, 2, 0).tensorInfo("w", GgmlType.F32, 0, 8);
        int at = b.pos();
        b.tensorInfo("w", GgmlType.F32, ALIGN, 8).padTo(ALIGN).zeros(64);
        rejects(b, "dup-tensor.gguf", at, "'w'", "twice");
    }

    @Test
    void tensorNameLongerThanGgmlAllows() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        String name = "t".repeat(GgufWriter.MAX_TENSOR_NAME_BYTES + 1);
        b.tensorInfo(name, GgmlType.F32, 0, 8).padTo(ALIGN).zeros(32);
        rejects(b, "long-tensor-name.gguf", at, "name of tensor 0", "length 64", "63 bytes allowed");
    }

    @Test
    void tensorNameOfTheLongestAllowedLength() {
        String name = "t".repeat(GgufWriter.MAX_TENSOR_NAME_BYTES);
        GgufBytes b = GgufBytes.header(3, 1, 0).tensorInfo(name, GgmlType.F32, 0, 8).padTo(ALIGN).f32(1).zeros(28);
        try (GgufFile f = b.read("name63.gguf")) {
            assertEquals(1.0f, f.tensor(name).dequantize()[0]);
        }
    }

    @Test
    void moreThanFourDims() {
        GgufBytes b = GgufBytes.header(3, 1, 0).string("w");
        int at = b.pos();
        b.u32(5);
        for (int d = 0; d < 5; d++) b.u64(1);
        b.u32(GgmlType.F32.id).u64(0).padTo(ALIGN).zeros(32);
        rejects(b, "five-dims.gguf", at, "'w'", "5 dimensions");
    }

    @Test
    void dimsWhoseProductOverflowsInt64() {
        GgufBytes b = GgufBytes.header(3, 1, 0).string("w").u32(2).u64(1L << 32);
        int at = b.pos(); // the second dim is the one that overflows
        b.u64(1L << 32).u32(GgmlType.F32.id).u64(0).padTo(ALIGN).zeros(32);
        rejects(b, "overflow-dims.gguf", at, "'w'", "overflow");
    }

    @Test
    void dimNegativeAsInt64() {
        GgufBytes b = GgufBytes.header(3, 1, 0).string("w").u32(2).u64(4);
        int at = b.pos();
        b.u64(1L << 63).u32(GgmlType.F32.id).u64(0).padTo(ALIGN).zeros(32);
        rejects(b, "negative-dim.gguf", at, "'w'", "9223372036854775808");
    }

    @Test
    void byteSizeOverflowsInt64() {
        // 2^62 elements is a valid count, but as F32 it needs 2^64 bytes.
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", GgmlType.F32, 0, 1L << 62).padTo(ALIGN);
        rejects(b, "huge-tensor.gguf", at, "'w'", "overflows");
    }

    @Test
    void rowLengthNotAMultipleOfTheBlockSize() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", GgmlType.Q8_0, 0, 48, 2).padTo(ALIGN).zeros(128);
        rejects(b, "q8-rows.gguf", at, "'w'", "48", "block size 32");
    }

    @Test
    void scalarOfABlockTypeIsRejected() {
        // With no dims ggml takes ne0 = 1, which no 32-element block can hold; accepting it would
        // give a tensor of 0 bytes whose one row cannot be decoded.
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("s", GgmlType.Q8_0, 0).padTo(ALIGN).zeros(64);
        rejects(b, "q8-scalar.gguf", at, "'s'", "block size 32");
    }

    @Test
    void unknownTypeId() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", 99, 0, 32).padTo(ALIGN).zeros(128);
        rejects(b, "type99.gguf", at, "'w'", "type id 99", "no ggml version");
    }

    @Test
    void typeIdOfARemovedOrUnreadType() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", 10, 0, 256).padTo(ALIGN).zeros(96);
        rejects(b, "q2k.gguf", at, "type id 10", "Q2_K");
    }

    @Test
    void typeId36InANonBitnetFileThatFitsNeitherMeaning() {
        // 128 elements need 64 bytes as I2_S (72 as IQ4_NL_4_4); the file leaves 32.
        GgufBytes b = GgufBytes.header(3, 1, 1).kvString("general.architecture", "llama");
        int at = b.pos();
        b.tensorInfo("w", 36, 0, 128).padTo(ALIGN).zeros(32);
        rejects(b, "type36.gguf", at, "'w'", "type id 36", "I2_S", "IQ4_NL_4_4", "32 bytes", "neither");
    }

    /** A 256-element type-36 tensor of n/4 + 32 = 96 bytes, followed by 32 spare bytes. */
    private static GgufBytes i2sFile(String architecture) {
        GgufBytes b = GgufBytes.header(3, 1, 1).kvString("general.architecture", architecture)
                .tensorInfo("w", 36, 0, 256).padTo(ALIGN);
        // Code 2 (+1) in every position, then the scale 2.0 and the trailer's padding.
        return b.fill(64, 0xAA).f32(2.0f).zeros(28).zeros(32);
    }

    @Test
    void typeId36IsI2sInABitnetFile() {
        try (GgufFile f = i2sFile("bitnet-b1.58").read("bitnet.gguf")) {
            TensorInfo t = f.tensors().getFirst();
            assertEquals(GgmlType.I2_S, t.type());
            assertEquals(256 / 4 + 32, t.byteSize());
            float[] expected = new float[256];
            Arrays.fill(expected, 2.0f);
            assertArrayEquals(expected, f.tensor(t).dequantize());
        }
    }

    @Test
    void typeId36WithSlackIsRefusedOutsideBitnet() {
        // The 32 spare bytes leave more than an alignment of slack, so only the architecture could vouch for I2_S.
        GgufBytes b = i2sFile("llama");
        int at = GgufBytes.header(3, 1, 1).kvString("general.architecture", "llama").pos(); // the tensor info
        rejects(b, "not-bitnet.gguf", at, "type id 36", "not a BitNet file", "neither");
    }

    /**
     * Id 42 by the bytes the file leaves: 4096 elements are 1152 bytes in upstream's blocks of 64 and
     * 1088 in the PrismML fork's blocks of 128, more than an alignment apart.
     */
    @ParameterizedTest
    @CsvSource({"1152, Q2_0", "1088, Q2_0_128"})
    void typeId42IsTheQ2_0LayoutItsSizeFits(int bytes, GgmlType expected) {
        GgufBytes b = GgufBytes.header(3, 1, 0).tensorInfo("w", 42, 0, 256, 16).padTo(ALIGN);
        // Every code 3 (+2) with d = 1: both layouts decode to 2.0 everywhere, from their own scales.
        int blockBytes = expected.blockBytes;
        for (int at = 0; at < bytes; at += blockBytes) b.raw(0x00, 0x3C).fill(blockBytes - 2, 0xFF);
        try (GgufFile f = b.read("q2_0.gguf")) {
            TensorInfo t = f.tensors().getFirst();
            assertEquals(expected, t.type());
            assertEquals(bytes, t.byteSize());
            float[] want = new float[4096];
            Arrays.fill(want, 2.0f);
            assertArrayEquals(want, f.tensor(t).dequantize());
        }
    }

    @Test
    void typeId42ThatFitsNeitherLayoutNamesBoth() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", 42, 0, 256, 16).padTo(ALIGN).zeros(1000);
        rejects(b, "q2_0-short.gguf", at, "'w'", "type id 42", "1152 bytes as upstream's Q2_0", "blocks of 64",
                "1088 bytes as the PrismML fork's Q2_0", "blocks of 128", "1000 bytes", "neither");
    }

    /** A tensor too small to tell the layouts apart follows the file's large one. */
    @Test
    void smallTypeId42TensorsFollowTheFilesLargestOne() {
        GgufBytes b = GgufBytes.header(3, 2, 0).tensorInfo("big", 42, 0, 256, 16).tensorInfo("small", 42, 1088, 128)
                .padTo(ALIGN).zeros(1088).zeros(64);
        try (GgufFile f = b.read("q2_0-small.gguf")) {
            assertEquals(GgmlType.Q2_0_128, f.findTensor("big").orElseThrow().type());
            assertEquals(GgmlType.Q2_0_128, f.findTensor("small").orElseThrow().type());
        }
    }

    @Test
    void typeId142IsNamedAsPQ2_0() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", 142, 0, 128).padTo(ALIGN).zeros(64);
        rejects(b, "pq2_0.gguf", at, "'w'", "type id 142", "PQ2_0", "experimental", "does not read");
    }

    // ---- tensor data ----

    @Test
    void tensorDataPastTheEnd() {
        GgufBytes b = GgufBytes.header(3, 1, 0).tensorInfo("w", GgmlType.F32, 0, 64).padTo(ALIGN);
        int dataStart = b.pos();
        b.zeros(100); // 256 needed
        rejects(b, "short-data.gguf", dataStart, "'w'", "past the end", "truncated");
    }

    @Test
    void tensorOffsetFarPastTheEnd() {
        // The data would start beyond the file (dataOffset + offset even overflows a long), so the
        // only place to point at is the tensor info holding the offset.
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", GgmlType.F32, Long.MAX_VALUE & -ALIGN, 64).padTo(ALIGN).zeros(256);
        rejects(b, "far-offset.gguf", at, "'w'", "past the end");
    }

    @Test
    void misalignedTensor() {
        GgufBytes b = GgufBytes.header(3, 1, 0);
        int at = b.pos();
        b.tensorInfo("w", GgmlType.F32, 16, 4).padTo(ALIGN).zeros(64);
        rejects(b, "misaligned.gguf", at, "'w'", "offset 16", "alignment 32");
    }

    @Test
    void overlappingTensors() {
        // 'a' needs 256 bytes but 'b' starts 128 bytes after it.
        GgufBytes b = GgufBytes.header(3, 2, 0)
                .tensorInfo("a", GgmlType.F32, 0, 64)
                .tensorInfo("b", GgmlType.F32, 128, 64)
                .padTo(ALIGN);
        int dataStart = b.pos();
        b.zeros(384);
        rejects(b, "overlap.gguf", dataStart, "'a'", "overlaps");
    }

    @Test
    void tensorsAtTheSameOffsetOverlap() {
        GgufBytes b = GgufBytes.header(3, 2, 0)
                .tensorInfo("a", GgmlType.F32, 0, 8)
                .tensorInfo("b", GgmlType.F32, 0, 8)
                .padTo(ALIGN);
        int dataStart = b.pos();
        b.zeros(32);
        rejects(b, "same-offset.gguf", dataStart, "overlaps");
    }

    @Test
    void fileEndsBeforeTheDataSection() {
        GgufBytes b = GgufBytes.header(3, 1, 0).tensorInfo("w", GgmlType.F32, 0, 1);
        int end = b.pos(); // 57: the data section would start at 64
        rejects(b, "no-data.gguf", end, "data section", "start at byte 64");
    }

    // ---- files larger than a Java array ----

    /** A sparse file of 3 GiB that starts with {@code head}: cheap on disk, but past every int index. */
    private static Path sparse(Path dir, GgufBytes head) throws IOException {
        Path p = dir.resolve("sparse.gguf");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(head.toByteArray());
            f.setLength(3L << 30);
        }
        return p;
    }

    @Test
    void stringLongerThanAJavaArrayInAHugeFile(@TempDir Path dir) throws IOException {
        // The length fits in the file, so only a limit on Java strings stops it.
        GgufBytes b = GgufBytes.header(3, 0, 1).key("general.name", MetadataType.STRING);
        int at = b.pos();
        b.u64((1L << 31) + 16);
        Path p = sparse(dir, b);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        checkMessage(e, p.toString(), at, "general.name", "2147483664");
    }

    @Test
    void arrayLongerThanAJavaArrayInAHugeFile(@TempDir Path dir) throws IOException {
        GgufBytes b = GgufBytes.header(3, 0, 1).key("x.bytes", MetadataType.ARRAY);
        int countAt = b.pos() + 4;
        b.arrayHeader(MetadataType.UINT8, (1L << 31) + 16);
        Path p = sparse(dir, b);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        checkMessage(e, p.toString(), countAt, "x.bytes", "2147483664");
    }

    // ---- through the memory map ----

    @Test
    void truncatedStoriesThroughOpen(@TempDir Path dir) throws IOException {
        byte[] clean = Files.readAllBytes(TestData.bundledModel());
        TensorInfo last;
        long dataOffset;
        try (GgufFile f = GgufFile.open(TestData.bundledModel())) {
            dataOffset = f.dataOffset();
            last = f.tensors().stream().max((x, y) -> Long.compare(x.offset(), y.offset())).orElseThrow();
        }
        // Cut the last tensor in half: every other tensor still fits, so it alone is reported.
        int cut = Math.toIntExact(dataOffset + last.offset() + last.byteSize() / 2);
        Path p = dir.resolve("stories-truncated.gguf");
        Files.write(p, Arrays.copyOf(clean, cut));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        checkMessage(e, p.toString(), dataOffset + last.offset(), "'" + last.name() + "'", "past the end");
    }

    @Test
    void emptyFileThroughOpen(@TempDir Path dir) throws IOException {
        Path p = Files.createFile(dir.resolve("empty.gguf"));
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        checkMessage(e, p.toString(), 0, "not a GGUF file");
    }
}
