package io.ternion.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF file, memory-mapped read-only: header, metadata, tensor infos, and zero-copy {@link Tensor}
 * views into the data section. Files of any size work (the mapping is one {@link MemorySegment}).
 *
 * <p>Everything read from the file is checked before it is used: counts and lengths against the
 * bytes left, so a hostile file cannot make us allocate more than it is long; tensor dims against
 * overflow; tensor data against the file's end, the alignment and each other. Any violation is a
 * {@link GgufFormatException} naming the file, the byte offset and the problem.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    public static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_NESTING = 16;
    /** The spec's limit on a metadata key. */
    static final int MAX_KEY_BYTES = 65535;

    private final String source;
    private final Arena arena;
    /** The file's bytes: a plain native view of {@link #mapping} for a mapped file (see {@link #open}). */
    private final MemorySegment file;
    /** The mapping itself, or null: what {@link #populate} pages in. */
    private final MemorySegment mapping;
    private final int version;
    private final Metadata metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(String source, Arena arena, MemorySegment file, MemorySegment mapping) {
        this.source = source;
        this.arena = arena;
        this.file = file;
        this.mapping = mapping;
        Parser p = new Parser(source, file);
        this.version = p.header();
        long tensorCount = p.tensorCount;
        Map<String, MetadataValue> values = new LinkedHashMap<>();
        Map<String, Long> offsets = new HashMap<>();
        p.metadata(values, offsets);
        this.metadata = new Metadata(source, values, offsets);
        this.alignment = p.alignment(metadata, offsets);
        List<Parser.RawInfo> raw = p.tensorInfos(tensorCount);
        long dataStart = align(p.pos, alignment);
        if (!raw.isEmpty() && dataStart > file.byteSize()) {
            throw new GgufFormatException(source, p.pos, "the tensor data section should start at byte " + dataStart
                    + " but the file ends at " + file.byteSize());
        }
        this.dataOffset = Math.min(dataStart, file.byteSize());
        this.tensors = Collections.unmodifiableList(p.resolve(raw, metadata, alignment, dataOffset));
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : tensors) m.put(t.name(), t);
        this.byName = Collections.unmodifiableMap(m);
    }

    /**
     * Memory-maps and parses a file. Its tensors are read through a plain native segment over the
     * mapping (same bytes, same arena, read-only), not the mapped segment itself: the kernels also
     * read repacked weights from native segments, and C2 profiles the segment's class where the
     * Vector API loads it, in code all kernels share. With both classes seen there, the 2B4T head's
     * F16 matvec, read from the mapping, ran at about two thirds of its speed alone in a JVM (its
     * loop kept a range and liveness check per load). Anything else handing kernels weights (the
     * warm-up's scratch) uses {@link #plainView} too.
     */
    public static GgufFile open(Path path) throws IOException {
        String source = path.toString();
        InputFiles.requireRegular(path);
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) return new GgufFile(source, arena, MemorySegment.ofArray(new byte[0]), null);
            MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GgufFile(source, arena, plainView(mapping, arena), mapping);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new NoSuchFileException(source, null, "no such file");
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses a file already in memory (tests, embedded resources). The segment must outlive the result. */
    public static GgufFile read(String source, MemorySegment bytes) {
        return new GgufFile(source, null, bytes, null);
    }

    /**
     * The bytes of a mapping as a plain native segment in the same arena (freed with it), read-only
     * where the mapping is: see {@link #open} for why the kernels should see one segment class.
     */
    public static MemorySegment plainView(MemorySegment mapping, Arena arena) {
        MemorySegment view = MemorySegment.ofAddress(mapping.address()).reinterpret(mapping.byteSize(), arena, null);
        return mapping.isReadOnly() ? view.asReadOnly() : view;
    }

    public String source() { return source; }
    public int version() { return version; }
    public Metadata metadata() { return metadata; }
    public long alignment() { return alignment; }
    /** Absolute byte offset of the tensor data section. */
    public long dataOffset() { return dataOffset; }
    public long fileSize() { return file.byteSize(); }
    /** Tensor infos in file order. */
    public List<TensorInfo> tensors() { return tensors; }

    /** {@code general.architecture}, or null. */
    public String architecture() {
        return metadata.getString("general.architecture", null);
    }

    public Optional<TensorInfo> findTensor(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** A zero-copy view of the named tensor; a missing tensor is a format error naming it. */
    public Tensor tensor(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) throw new GgufFormatException(source, -1, "tensor '" + name + "' is missing");
        return tensor(t);
    }

    public Tensor tensor(TensorInfo t) {
        return new Tensor(t.name(), t.type(), t.shape(), file.asSlice(dataOffset + t.offset(), t.byteSize()));
    }

    /** The whole file's bytes. */
    public MemorySegment segment() { return file; }

    /** The mapping of a file that {@link #open} mapped, else null. */
    MemorySegment mapping() { return mapping; }

    /**
     * Reads one byte of every page of a mapped file now, not at a forward's first read of it: the
     * first forward of BitNet 2B4T otherwise spends 0.3 s (against a 40 ms step) taking in its
     * 656 MB F16 head, the one tensor read in place. llama.cpp maps with MAP_POPULATE for this.
     * madvise(MADV_POPULATE_READ) fills the page table as well but, measured on our VMs, left that
     * first forward as slow as without it: the page has to be read, not only mapped.
     */
    public void populate() {
        if (mapping != null) mapping.load();
    }

    @Override
    public void close() {
        if (arena != null) arena.close();
    }

    static long align(long x, long alignment) {
        return x + (alignment - x % alignment) % alignment;
    }

    /** A bounds-checked cursor over the file. */
    private static final class Parser {
        final String source;
        final MemorySegment seg;
        final long size;
        long pos;
        long tensorCount, kvCount;

        Parser(String source, MemorySegment seg) {
            this.source = source;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        GgufFormatException error(long at, String problem) {
            return new GgufFormatException(source, at, problem);
        }

        void need(long n, String what) {
            if (n < 0 || n > size - pos) {
                throw error(pos, "file ends inside " + what + " (needs " + (n < 0 ? "an impossible number of"
                        : String.valueOf(n)) + " bytes, " + (size - pos) + " left): truncated or corrupt");
            }
        }

        int u32(String what) { need(4, what); int v = seg.get(Numbers.INT, pos); pos += 4; return v; }
        long u64(String what) { need(8, what); long v = seg.get(Numbers.LONG, pos); pos += 8; return v; }

        /** A string value: any length a Java String can hold. */
        String string(String what) {
            return string(what, Integer.MAX_VALUE - 8);
        }

        /** A string of at most {@code maxBytes}: names are echoed in errors, so they must stay short. */
        String string(String what, int maxBytes) {
            long at = pos;
            long len = u64(what + " length");
            if (len < 0 || len > size - pos) {
                throw error(at, what + " length " + Long.toUnsignedString(len) + " is larger than the "
                        + (size - pos) + " bytes left in the file");
            }
            // Checked before reading, so an overlong name costs nothing (and no Java String holds 2 GiB).
            if (len > maxBytes) throw error(at, what + " length " + len + " is more than the " + maxBytes + " bytes allowed");
            byte[] b = seg.asSlice(pos, len).toArray(Numbers.BYTE);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }

        int header() {
            if (size < 4) throw error(0, "not a GGUF file: only " + size + " bytes");
            int magic = seg.get(Numbers.INT, 0);
            if (magic != MAGIC) {
                byte[] m = seg.asSlice(0, 4).toArray(Numbers.BYTE);
                StringBuilder hex = new StringBuilder();
                for (byte b : m) hex.append(String.format("%02x", b));
                throw error(0, "not a GGUF file: starts with 0x" + hex + ", expected the magic 'GGUF' (0x47475546)");
            }
            pos = 4;
            int version = u32("the header");
            if (version != 2 && version != 3) {
                if (version != 0 && (version & 0xFFFF) == 0) {
                    throw error(4, "big-endian GGUF (version bytes " + Integer.toHexString(version) + ") is not supported");
                }
                throw error(4, "GGUF version " + Integer.toUnsignedString(version)
                        + (version == 1 ? " (32-bit counts) is no longer supported" : " is unknown") + "; Ternion reads versions 2 and 3");
            }
            long at = pos;
            tensorCount = u64("the header");
            kvCount = u64("the header");
            // Each KV takes at least 13 bytes and each tensor info at least 24: reject counts the file cannot hold.
            if (tensorCount < 0 || tensorCount > (size - pos) / 24) {
                throw error(at, "tensor count " + Long.toUnsignedString(tensorCount) + " cannot fit in the "
                        + (size - pos) + " bytes left");
            }
            if (kvCount < 0 || kvCount > (size - pos) / 13) {
                throw error(at + 8, "metadata count " + Long.toUnsignedString(kvCount) + " cannot fit in the "
                        + (size - pos) + " bytes left");
            }
            return version;
        }

        void metadata(Map<String, MetadataValue> values, Map<String, Long> offsets) {
            for (long i = 0; i < kvCount; i++) {
                long at = pos;
                String key = string("metadata key " + i, MAX_KEY_BYTES);
                long typeAt = pos;
                int typeId = u32("the type of metadata key '" + key + "'");
                MetadataType type = MetadataType.byId(typeId & 0xFFFFFFFFL);
                if (type == null) {
                    throw error(typeAt, "metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId));
                }
                Object value = type == MetadataType.ARRAY ? array(key, 0) : scalar(type, key);
                if (values.putIfAbsent(key, new MetadataValue(type, value)) != null) {
                    throw error(at, "metadata key '" + key + "' appears twice");
                }
                offsets.put(key, at);
            }
        }

        Object scalar(MetadataType type, String key) {
            String what = "the value of '" + key + "'";
            return switch (type) {
                case UINT8, INT8 -> { need(1, what); yield (long) (type == MetadataType.UINT8 ? seg.get(Numbers.BYTE, pos++) & 0xFF : seg.get(Numbers.BYTE, pos++)); }
                case UINT16, INT16 -> { need(2, what); short s = seg.get(Numbers.SHORT, pos); pos += 2; yield (long) (type == MetadataType.UINT16 ? s & 0xFFFF : s); }
                case UINT32 -> u32(what) & 0xFFFF_FFFFL;
                case INT32 -> (long) u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> Float.intBitsToFloat(u32(what));
                case FLOAT64 -> Double.longBitsToDouble(u64(what));
                case BOOL -> bool(what);
                case STRING -> string(what);
                case ARRAY -> throw new AssertionError();
            };
        }

        boolean bool(String what) {
            need(1, what);
            byte b = seg.get(Numbers.BYTE, pos);
            if (b != 0 && b != 1) throw error(pos, what + " is a BOOL with value " + (b & 0xFF) + " (only 0 and 1 are valid)");
            pos++;
            return b == 1;
        }

        GgufArray array(String key, int depth) {
            if (depth >= MAX_ARRAY_NESTING) throw error(pos, "metadata key '" + key + "' nests arrays deeper than " + MAX_ARRAY_NESTING);
            long at = pos;
            int elemId = u32("the array type of '" + key + "'");
            MetadataType et = MetadataType.byId(elemId & 0xFFFFFFFFL);
            if (et == null) throw error(at, "metadata key '" + key + "' is an array of unknown type " + Integer.toUnsignedString(elemId));
            long count = u64("the array length of '" + key + "'");
            if (count < 0 || count > (size - pos) / et.minBytes) {
                throw error(at + 4, "metadata key '" + key + "' claims " + Long.toUnsignedString(count) + " " + et
                        + " elements, more than the " + (size - pos) + " bytes left can hold");
            }
            int n = (int) count; // bounded by the file size / minBytes, and arrays of > 2^31 elements cannot exist here
            if (count > Integer.MAX_VALUE - 8) throw error(at + 4, "metadata key '" + key + "' has " + count + " elements, too many");
            String what = "array '" + key + "'";
            switch (et) {
                case UINT8, INT8 -> {
                    need(n, what);
                    byte[] a = seg.asSlice(pos, n).toArray(Numbers.BYTE);
                    pos += n;
                    return new GgufArray(et, a);
                }
                case UINT16, INT16 -> {
                    need(2L * n, what);
                    short[] a = new short[n];
                    for (int i = 0; i < n; i++, pos += 2) a[i] = seg.get(Numbers.SHORT, pos);
                    return new GgufArray(et, a);
                }
                case UINT32, INT32 -> {
                    need(4L * n, what);
                    int[] a = new int[n];
                    for (int i = 0; i < n; i++, pos += 4) a[i] = seg.get(Numbers.INT, pos);
                    return new GgufArray(et, a);
                }
                case FLOAT32 -> {
                    need(4L * n, what);
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++, pos += 4) a[i] = seg.get(Numbers.FLOAT, pos);
                    return new GgufArray(et, a);
                }
                case UINT64, INT64 -> {
                    need(8L * n, what);
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++, pos += 8) a[i] = seg.get(Numbers.LONG, pos);
                    return new GgufArray(et, a);
                }
                case FLOAT64 -> {
                    need(8L * n, what);
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++, pos += 8) a[i] = seg.get(Numbers.DOUBLE, pos);
                    return new GgufArray(et, a);
                }
                case BOOL -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = bool(what + " element " + i);
                    return new GgufArray(et, a);
                }
                case STRING -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = string(what + " element " + i);
                    return new GgufArray(et, a);
                }
                case ARRAY -> {
                    GgufArray[] a = new GgufArray[n];
                    for (int i = 0; i < n; i++) a[i] = array(key, depth + 1);
                    return new GgufArray(et, a);
                }
                default -> throw new AssertionError(et);
            }
        }

        long alignment(Metadata md, Map<String, Long> offsets) {
            MetadataValue v = md.get("general.alignment");
            if (v == null) return DEFAULT_ALIGNMENT;
            long at = offsets.getOrDefault("general.alignment", -1L);
            if (!v.type().isInteger()) throw error(at, "general.alignment has type " + v.type() + ", expected UINT32");
            long a = (Long) v.value();
            if (a <= 0 || (a & (a - 1)) != 0 || a > (1 << 30)) {
                throw error(at, "general.alignment = " + Long.toUnsignedString(a) + " is not a power of two");
            }
            return a;
        }

        record RawInfo(long at, String name, long[] shape, long elements, long typeId, long offset) {}

        List<RawInfo> tensorInfos(long count) {
            List<RawInfo> out = new ArrayList<>();
            java.util.Set<String> names = new java.util.HashSet<>();
            for (long i = 0; i < count; i++) {
                long at = pos;
                String name = string("the name of tensor " + i, GgufWriter.MAX_TENSOR_NAME_BYTES);
                if (!names.add(name)) throw error(at, "tensor '" + name + "' appears twice");
                long dimsAt = pos;
                int nDims = u32("the dims of tensor '" + name + "'");
                if (nDims < 0 || nDims > MAX_DIMS) {
                    throw error(dimsAt, "tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                            + " dimensions (at most " + MAX_DIMS + ")");
                }
                long[] shape = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    long dimAt = pos;
                    shape[d] = u64("the dims of tensor '" + name + "'");
                    if (shape[d] < 0) {
                        throw error(dimAt, "tensor '" + name + "' dimension " + d + " = " + Long.toUnsignedString(shape[d]) + " is negative as int64");
                    }
                    try {
                        elements = Math.multiplyExact(elements, shape[d]);
                    } catch (ArithmeticException e) {
                        throw error(dimAt, "tensor '" + name + "' dims " + java.util.Arrays.toString(java.util.Arrays.copyOf(shape, d + 1))
                                + " overflow a 64-bit element count");
                    }
                }
                long typeId = u32("the type of tensor '" + name + "'") & 0xFFFFFFFFL;
                long offset = u64("the offset of tensor '" + name + "'");
                out.add(new RawInfo(at, name, shape, elements, typeId, offset));
            }
            return out;
        }

        List<TensorInfo> resolve(List<RawInfo> raw, Metadata md, long alignment, long dataOffset) {
            long dataSize = size - dataOffset;
            String arch = null;
            long fileType = -1;
            MetadataValue a = md.get("general.architecture");
            if (a != null && a.type() == MetadataType.STRING) arch = (String) a.value();
            MetadataValue ft = md.get("general.file_type");
            if (ft != null && ft.type().isInteger()) fileType = (Long) ft.value();
            // Spans: bytes from each tensor's offset to the next larger offset, or to the end of the data.
            List<RawInfo> sorted = new ArrayList<>(raw);
            sorted.sort(Comparator.comparingLong(r -> r.offset));
            // Two tensors at one offset leave the first a span of 0, so any bytes in it overlap.
            Map<RawInfo, Long> span = new java.util.IdentityHashMap<>();
            for (int i = 0; i < sorted.size(); i++) {
                RawInfo r = sorted.get(i);
                long end = i + 1 < sorted.size() ? sorted.get(i + 1).offset : dataSize;
                span.put(r, Math.max(0, Math.min(end, dataSize) - Math.max(0, r.offset)));
            }

            // The file's largest Q2_0 tensor says which of the id's two block sizes it uses.
            RawInfo largestQ2 = null;
            for (RawInfo r : raw) {
                if (r.typeId == GgmlType.Q2_0.id && (largestQ2 == null || r.elements > largestQ2.elements)) largestQ2 = r;
            }
            GgmlType q2Layout = largestQ2 == null ? null
                    : TypeResolver.q2_0Layout(largestQ2.elements, span.get(largestQ2), alignment);
            TypeResolver.Context ctx = new TypeResolver.Context(source, arch, fileType, alignment, q2Layout);

            List<TensorInfo> out = new ArrayList<>(raw.size());
            for (RawInfo r : raw) {
                if (r.offset < 0 || r.offset % alignment != 0) {
                    throw error(r.at, "tensor '" + r.name + "' has offset " + Long.toUnsignedString(r.offset)
                            + ", not a multiple of the alignment " + alignment);
                }
                GgmlType type = TypeResolver.resolve(ctx, r.at, r.name, r.typeId, r.elements, span.get(r));
                long rowLength = r.shape.length > 0 ? r.shape[0] : 1; // ggml: missing dims are 1
                if (rowLength % type.blockSize != 0) {
                    throw error(r.at, "tensor '" + r.name + "' of type " + type + " has rows of " + rowLength
                            + " elements, not a multiple of its block size " + type.blockSize);
                }
                long bytes;
                try {
                    bytes = type.byteSize(r.elements);
                } catch (ArithmeticException e) {
                    throw error(r.at, "tensor '" + r.name + "' byte size overflows");
                }
                if (r.offset > dataSize || bytes > dataSize - r.offset) {
                    // Data that would start beyond the file has no byte of its own: point at its info.
                    throw error(r.offset > dataSize ? r.at : dataOffset + r.offset, "tensor '" + r.name + "' (" + type + " " + java.util.Arrays.toString(r.shape)
                            + ", " + bytes + " bytes at data offset " + r.offset + ") runs past the end of the file ("
                            + dataSize + " data bytes): truncated or corrupt");
                }
                if (bytes > span.get(r)) {
                    throw error(dataOffset + r.offset, "tensor '" + r.name + "' (" + bytes + " bytes at data offset "
                            + r.offset + ") overlaps the next tensor, which starts " + span.get(r) + " bytes later");
                }
                out.add(new TensorInfo(r.name, type, r.shape, r.offset, bytes));
            }
            return out;
        }
    }
}
