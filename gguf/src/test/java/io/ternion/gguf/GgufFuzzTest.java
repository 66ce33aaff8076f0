package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutates the bundled stories260K.gguf thousands of times with a fixed seed. Every outcome must be
 * a clean parse whose tensor views are in bounds, or a one-line {@link GgufFormatException} that
 * points into the file; anything else (an index, arithmetic or argument exception, an
 * OutOfMemoryError, an allocation out of proportion to the file) fails with the seed, the
 * iteration and the mutations, which {@code -Dternion.fuzz.seed=S -Dternion.fuzz.only=I} replays.
 */
class GgufFuzzTest {
    private static final long SEED = Long.getLong("ternion.fuzz.seed", 0x7E2210_6B17_2025L);
    private static final int ITERATIONS = Integer.getInteger("ternion.fuzz.iterations", 4000);
    private static final int ONLY = Integer.getInteger("ternion.fuzz.only", -1);
    /** Prints how many mutants each kind of problem rejected, to see what the mutations reach. */
    private static final boolean VERBOSE = Boolean.getBoolean("ternion.fuzz.verbose");
    /** Every this many iterations the mutant also goes through a real file and the memory map. */
    private static final int THROUGH_OPEN_EVERY = 97;
    /** Share of position picks that land before the data section, where the parser's input is. */
    private static final double HEADER_BIAS = 0.85;

    private static byte[] clean;
    private static int headerEnd; // the clean file's data offset
    /** Offsets in the clean file of every uint64 field (counts, lengths, dims, tensor offsets). */
    private static int[] u64Fields;
    /** Offsets in the clean file of every uint32 field (version, value types, n_dims, tensor types). */
    private static int[] u32Fields;
    private static final com.sun.management.ThreadMXBean THREADS =
            ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                    && t.isThreadAllocatedMemorySupported() ? t : null;

    @BeforeAll
    static void load() throws IOException {
        clean = Files.readAllBytes(TestData.bundledModel());
        List<Integer> u64 = new ArrayList<>(List.of(8, 16)), u32 = new ArrayList<>(List.of(4));
        try (GgufFile f = GgufFile.read("stories260K.gguf", MemorySegment.ofArray(clean))) {
            headerEnd = Math.toIntExact(f.dataOffset());
            // Find each field by searching for the key or name it follows (length-prefixed, so
            // "output.weight" cannot match inside "blk.0.attn_output.weight").
            for (String key : f.metadata().keys()) {
                int at = find(key);
                int type = at + 8 + utf8(key).length;
                u64.add(at);
                u32.add(type);
                MetadataValue v = f.metadata().get(key);
                if (v.type() == MetadataType.STRING) u64.add(type + 4);
                if (v.type() == MetadataType.ARRAY) {
                    u32.add(type + 4);
                    u64.add(type + 8);
                }
            }
            for (TensorInfo t : f.tensors()) {
                int at = find(t.name());
                int nDims = at + 8 + utf8(t.name()).length;
                u64.add(at);
                u32.add(nDims);
                for (int d = 0; d < t.dims(); d++) u64.add(nDims + 4 + 8 * d);
                int type = nDims + 4 + 8 * t.dims();
                u32.add(type);
                u64.add(type + 4);
            }
        }
        u64Fields = u64.stream().mapToInt(Integer::intValue).toArray();
        u32Fields = u32.stream().mapToInt(Integer::intValue).toArray();
    }

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** Offset of the GGUF string {@code s} (its length field) in the clean file's header. */
    private static int find(String s) {
        byte[] needle = new GgufBytes().string(s).toByteArray();
        outer:
        for (int i = 0; i + needle.length <= headerEnd; i++) {
            for (int j = 0; j < needle.length; j++) if (clean[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalStateException("'" + s + "' not found in the header of stories260K.gguf");
    }

    /** One mutant and the mutations that made it, for the failure message. */
    record Mutant(byte[] bytes, List<String> log) {}

    private static final long[] U64_VALUES = {
        0, 1, 2, 3, 4, 5, 7, 8, 12, 13, 24, 31, 32, 33, 64, 127, 128, 255, 256, 4096, 65535,
        0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 1L << 32, 1L << 40, 1L << 48, 1L << 62,
        Long.MAX_VALUE, Long.MIN_VALUE, -1, -32,
    };
    private static final long[] U32_VALUES = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 30, 31, 34, 35, 36, 37, 38, 39,
        40, 41, 42, 43, 99, 142, 143, 0xFFFF, 0x1_0000, 0x0300_0000, 0x7FFF_FFFF, 0x8000_0000L, 0xFFFF_FFFFL,
    };

    /** Applies one to three random mutations to a copy of the clean file. */
    static Mutant mutate(SplittableRandom r) {
        byte[] b = clean.clone();
        List<String> log = new ArrayList<>();
        int n = 1 + r.nextInt(3);
        for (int k = 0; k < n && b.length > 0; k++) {
            int kind = r.nextInt(100);
            if (kind < 30) {
                int at = pick(r, b.length);
                int old = b[at] & 0xFF;
                switch (r.nextInt(4)) {
                    case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                    case 1 -> b[at] = 0;
                    case 2 -> b[at] = (byte) 0xFF;
                    default -> b[at] = (byte) r.nextInt(256);
                }
                log.add(String.format("byte %d: %02x -> %02x", at, old, b[at] & 0xFF));
            } else if (kind < 50) {
                int at = r.nextInt(4) == 0 ? pick(r, b.length) : u64Fields[r.nextInt(u64Fields.length)];
                long v = switch (r.nextInt(4)) {
                    case 0 -> r.nextLong();
                    case 1 -> b.length + r.nextInt(-64, 65); // around the file's end
                    case 2 -> get(b, at, 8) + r.nextInt(-40, 41); // a near miss of the true value
                    default -> U64_VALUES[r.nextInt(U64_VALUES.length)];
                };
                put(b, at, 8, v);
                log.add("u64 at " + at + " = " + Long.toUnsignedString(v));
            } else if (kind < 65) {
                int at = r.nextInt(4) == 0 ? pick(r, b.length) : u32Fields[r.nextInt(u32Fields.length)];
                long v = r.nextInt(5) == 0 ? r.nextInt() & 0xFFFF_FFFFL : U32_VALUES[r.nextInt(U32_VALUES.length)];
                put(b, at, 4, v);
                log.add("u32 at " + at + " = " + v);
            } else if (kind < 77) {
                int len = r.nextDouble() < HEADER_BIAS ? r.nextInt(Math.min(b.length, headerEnd + 64)) : r.nextInt(b.length);
                b = Arrays.copyOf(b, len);
                log.add("truncate to " + len);
            } else if (kind < 89) {
                int at = pick(r, b.length + 1);
                byte[] ins = new byte[1 + r.nextInt(16)];
                if (r.nextBoolean()) r.nextBytes(ins);
                byte[] c = new byte[b.length + ins.length];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(ins, 0, c, at, ins.length);
                System.arraycopy(b, at, c, at + ins.length, b.length - at);
                b = c;
                log.add("insert " + ins.length + " bytes at " + at);
            } else {
                int at = pick(r, b.length);
                int len = Math.min(1 + r.nextInt(16), b.length - at);
                byte[] c = new byte[b.length - len];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, at + len, c, at, b.length - at - len);
                b = c;
                log.add("delete " + len + " bytes at " + at);
            }
        }
        return new Mutant(b, log);
    }

    /** A position below {@code bound}, usually in the header, metadata and tensor infos. */
    private static int pick(SplittableRandom r, int bound) {
        return r.nextDouble() < HEADER_BIAS ? r.nextInt(Math.min(bound, headerEnd)) : r.nextInt(bound);
    }

    private static long get(byte[] b, int at, int width) {
        long v = 0;
        for (int i = 0; i < width && at + i < b.length; i++) v |= (b[at + i] & 0xFFL) << (8 * i);
        return v;
    }

    /** Little-endian store, cut short at the end of the array. */
    private static void put(byte[] b, int at, int width, long v) {
        for (int i = 0; i < width && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    @Test
    void mutantsParseCleanlyOrFailWithAFormatException(@TempDir Path dir) throws IOException {
        int parsed = 0, rejected = 0;
        long maxAllocated = 0;
        TreeMap<String, Integer> problems = new TreeMap<>();
        for (int i = 0; i < ITERATIONS; i++) {
            if (ONLY >= 0 && i != ONLY) continue;
            SplittableRandom r = new SplittableRandom(SEED ^ (i * 0x9E37_79B9_7F4A_7C15L));
            Mutant m = mutate(r);
            String where = "seed 0x" + Long.toHexString(SEED) + " (-Dternion.fuzz.seed=" + SEED + " -Dternion.fuzz.only="
                    + i + "), iteration " + i + ", " + m.bytes().length + " bytes after " + m.log()
                    + ", max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB";

            String source = "mutant-" + i + ".gguf";
            long before = allocated();
            GgufFormatException e = parse(m.bytes(), source, null, where);
            long used = allocated() - before;
            maxAllocated = Math.max(maxAllocated, used);
            // Whatever the file claims, the work must be bounded by its length. The worst mutants seen
            // cost about 6x the file (strings, names echoed in messages); a count-sized allocation, or
            // a name swallowing the file and echoed escaped, goes far past 16x.
            long bound = 16L * m.bytes().length + (8L << 20);
            if (used > bound) {
                fail(where + ": allocated " + used + " bytes, more than " + bound + ", to "
                        + (e == null ? "parse it" : "reject it with: " + abbreviate(e.getMessage())));
            }
            if (e == null) {
                parsed++;
            } else {
                rejected++;
                problems.merge(shape(e.getMessage().substring((source + ": at byte " + e.offset() + ": ").length())), 1, Integer::sum);
            }

            if (i % THROUGH_OPEN_EVERY == 0) {
                Path p = dir.resolve(source);
                Files.write(p, m.bytes());
                GgufFormatException viaMap = parse(m.bytes(), p.toString(), p, where);
                // The memory map must see the same file the heap copy did.
                assertEquals(e == null ? null : e.problem(), viaMap == null ? null : viaMap.problem(), where);
                Files.delete(p);
            }
        }
        System.out.printf("GGUF fuzz, seed 0x%x: %d mutants parsed, %d rejected with %d kinds of problem,"
                + " at most %d bytes allocated per parse%n", SEED, parsed, rejected, problems.size(), maxAllocated);
        if (VERBOSE) problems.forEach((k, v) -> System.out.printf("  %5d  %s%n", v, k));
        if (ONLY < 0) {
            // A fuzz that never gets past the header, or never gets rejected, tests little.
            assertTrue(parsed >= ITERATIONS / 50, "seed " + SEED + ": only " + parsed + " of " + ITERATIONS + " mutants parsed");
            assertTrue(rejected >= ITERATIONS / 2, "seed " + SEED + ": only " + rejected + " of " + ITERATIONS + " mutants rejected");
        }
    }

    /**
     * Parses one mutant, from the heap or (with {@code path}) through {@link GgufFile#open}, and on
     * success touches every tensor. Returns the format exception, null for a clean parse, and fails
     * on anything else.
     */
    private static GgufFormatException parse(byte[] bytes, String source, Path path, String where) {
        try (GgufFile f = path == null ? GgufFile.read(source, MemorySegment.ofArray(bytes)) : GgufFile.open(path)) {
            touch(f, bytes.length, where);
            return null;
        } catch (GgufFormatException e) {
            String msg = e.getMessage();
            if (msg.contains("\n") || msg.contains("\r")) fail(where + ": message is not one line: " + abbreviate(msg), e);
            if (!msg.startsWith(source + ": at byte " + e.offset() + ": ")) {
                fail(where + ": message does not name the file and byte: " + abbreviate(msg), e);
            }
            // Every problem found while parsing has a place in the file.
            if (e.offset() < 0 || e.offset() > bytes.length) {
                fail(where + ": offset " + e.offset() + " is outside the file: " + abbreviate(msg), e);
            }
            return e;
        } catch (org.opentest4j.AssertionFailedError a) {
            throw a;
        } catch (Throwable t) {
            fail(where + ": " + t, t);
            throw new AssertionError(t);
        }
    }

    /** Checks that every tensor's view lies in the file and that its first and last blocks decode. */
    private static void touch(GgufFile f, long fileSize, String where) {
        f.architecture();
        for (TensorInfo info : f.tensors()) {
            long start = f.dataOffset() + info.offset();
            if (info.offset() < 0 || info.byteSize() < 0 || start + info.byteSize() > fileSize) {
                fail(where + ": tensor " + info + " lies outside the " + fileSize + "-byte file");
            }
            Tensor t = f.tensor(info.name());
            if (t.data().byteSize() != info.byteSize()) fail(where + ": view of " + info + " has " + t.data().byteSize() + " bytes");
            GgmlType type = info.type();
            long blocks = info.elementCount() / type.blockSize;
            if (blocks == 0) continue;
            float[] out = new float[type.blockSize];
            type.dequantize(t.data(), 0, out, 0, type.blockSize);
            type.dequantize(t.data(), (blocks - 1) * type.blockSize, out, 0, type.blockSize);
        }
    }

    /** A problem (as escaped in the message) with names and numbers blanked, to count rejections by kind. */
    private static String shape(String problem) {
        String s = problem.replaceAll("'[^']*'", "'_'").replaceAll("\\[[^]]*]", "[_]").replaceAll("[0-9]+", "N");
        return s.length() > 110 ? s.substring(0, 110) + "..." : s;
    }

    /** Failure messages stay readable when a mutant's name has swallowed half the file. */
    private static String abbreviate(String s) {
        return s.length() > 600 ? s.substring(0, 600) + "... (" + s.length() + " chars)" : s;
    }

    private static long allocated() {
        return THREADS == null ? 0 : THREADS.getCurrentThreadAllocatedBytes();
    }
}
