package io.ternion.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Writes GGUF version 3 the way ggml's own writers do, so llama.cpp loads what we write for the
 * types it knows: metadata in insertion order, tensor infos, zero padding to {@code general.alignment}
 * (32 when unset), then each tensor's bytes at the next aligned offset, each padded to the
 * alignment. Tensor bytes can be supplied lazily, so a large model is generated one tensor at a time.
 * The file appears under its name only once it is complete.
 */
public final class GgufWriter {
    /** llama.cpp's GGML_MAX_NAME (64, with the terminating NUL). */
    public static final int MAX_TENSOR_NAME_BYTES = 63;

    private record Entry(String name, GgmlType type, long[] shape, long byteSize, Supplier<MemorySegment> data) {}

    private final Map<String, MetadataValue> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    public GgufWriter put(String key, MetadataValue value) {
        if (key.isEmpty()) throw new IllegalArgumentException("empty metadata key");
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String v) { return put(key, MetadataValue.string(v)); }
    public GgufWriter putUInt32(String key, long v) { return put(key, MetadataValue.uint32(v)); }
    public GgufWriter putInt32(String key, int v) { return put(key, MetadataValue.int32(v)); }
    public GgufWriter putFloat32(String key, float v) { return put(key, MetadataValue.float32(v)); }
    public GgufWriter putBool(String key, boolean v) { return put(key, MetadataValue.bool(v)); }
    public GgufWriter putArray(String key, GgufArray v) { return put(key, MetadataValue.array(v)); }

    /** Copies every key of {@code md}, keeping types and order. */
    public GgufWriter putAll(Metadata md) {
        md.asMap().forEach(this::put);
        return this;
    }

    public GgufWriter addTensor(Tensor t) {
        MemorySegment data = t.data();
        return addTensor(t.name(), t.type(), t.shape(), () -> data);
    }

    /** Adds a tensor whose bytes are produced when the file is written. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, Supplier<MemorySegment> data) {
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes == 0 || nameBytes > MAX_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' must have 1 to " + MAX_TENSOR_NAME_BYTES + " bytes");
        }
        if (!names.add(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        if (shape.length < 1 || shape.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' needs 1 to 4 dimensions, has " + shape.length);
        }
        if (shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': row length " + shape[0]
                    + " is not a multiple of " + type + "'s block size " + type.blockSize);
        }
        tensors.add(new Entry(name, type, shape.clone(), type.byteSize(TensorInfo.elementCount(shape)), data));
        return this;
    }

    /** The metadata as it will be written (for tests). */
    Map<String, MetadataValue> asMetadataForTest() {
        return java.util.Collections.unmodifiableMap(metadata);
    }

    public void write(Path path) throws IOException {
        write(path, bytes -> { });
    }

    /** The bytes of all tensors added so far (what {@link #write(Path, LongConsumer)} reports in all). */
    public long tensorBytes() {
        return tensors.stream().mapToLong(t -> t.byteSize).sum();
    }

    /** Writes the file, telling {@code written} the bytes of each tensor once it is written (for a progress bar). */
    public void write(Path path, LongConsumer written) throws IOException {
        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        MetadataValue a = metadata.get("general.alignment");
        if (a != null) {
            if (!a.type().isInteger() || (Long) a.value() <= 0 || ((Long) a.value() & ((Long) a.value() - 1)) != 0) {
                throw new IllegalArgumentException("general.alignment must be a power of two, is " + a);
            }
            alignment = (Long) a.value();
        }

        Buffer head = new Buffer();
        head.i32(GgufFile.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        for (var e : metadata.entrySet()) {
            head.string(e.getKey());
            head.i32(e.getValue().type().id);
            value(head, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (Entry t : tensors) {
            head.string(t.name).i32(t.shape.length);
            for (long d : t.shape) head.i64(d);
            head.i32(t.type.id).i64(offset);
            offset = GgufFile.align(offset + t.byteSize, alignment);
        }
        head.pad(alignment);

        Path tmp = path.resolveSibling(path.getFileName() + ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head.toByteBuffer());
            for (Entry t : tensors) {
                MemorySegment data = t.data.get();
                if (data.byteSize() != t.byteSize) {
                    throw new IllegalArgumentException("tensor '" + t.name + "' (" + t.type + " " + Arrays.toString(t.shape)
                            + ") needs " + t.byteSize + " bytes, its data has " + data.byteSize());
                }
                writeFully(ch, data.asByteBuffer());
                written.accept(t.byteSize);
                long pad = GgufFile.align(t.byteSize, alignment) - t.byteSize;
                if (pad > 0) writeFully(ch, ByteBuffer.allocate((int) pad));
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void value(Buffer out, MetadataType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> out.i8((int) (long) (Long) v);
            case UINT16, INT16 -> out.i16((int) (long) (Long) v);
            case UINT32, INT32 -> out.i32((int) (long) (Long) v);
            case UINT64, INT64 -> out.i64((Long) v);
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> out.i8((Boolean) v ? 1 : 0);
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray arr = (GgufArray) v;
                out.i32(arr.elementType().id).i64(arr.length());
                Object d = arr.data();
                switch (arr.elementType()) {
                    case UINT8, INT8 -> out.bytes((byte[]) d);
                    case UINT16, INT16 -> { for (short s : (short[]) d) out.i16(s); }
                    case UINT32, INT32 -> { for (int x : (int[]) d) out.i32(x); }
                    case UINT64, INT64 -> { for (long x : (long[]) d) out.i64(x); }
                    case FLOAT32 -> { for (float x : (float[]) d) out.i32(Float.floatToRawIntBits(x)); }
                    case FLOAT64 -> { for (double x : (double[]) d) out.i64(Double.doubleToRawLongBits(x)); }
                    case BOOL -> { for (boolean x : (boolean[]) d) out.i8(x ? 1 : 0); }
                    case STRING -> { for (String s : (String[]) d) out.string(s); }
                    case ARRAY -> { for (GgufArray x : (GgufArray[]) d) value(out, MetadataType.ARRAY, x); }
                }
            }
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Buffer {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(long n) {
            if (b.remaining() >= n) return;
            long cap = Math.max((long) b.capacity() * 2, b.position() + n);
            if (cap > Integer.MAX_VALUE - 8) throw new IllegalStateException("GGUF header larger than 2 GB");
            ByteBuffer nb = ByteBuffer.allocate((int) cap).order(ByteOrder.LITTLE_ENDIAN);
            b.flip();
            nb.put(b);
            b = nb;
        }

        Buffer i8(int v) { ensure(1); b.put((byte) v); return this; }
        Buffer i16(int v) { ensure(2); b.putShort((short) v); return this; }
        Buffer i32(int v) { ensure(4); b.putInt(v); return this; }
        Buffer i64(long v) { ensure(8); b.putLong(v); return this; }
        Buffer bytes(byte[] v) { ensure(v.length); b.put(v); return this; }
        Buffer string(String s) { byte[] u = s.getBytes(StandardCharsets.UTF_8); return i64(u.length).bytes(u); }
        Buffer pad(long alignment) {
            long n = GgufFile.align(b.position(), alignment) - b.position();
            for (long i = 0; i < n; i++) i8(0);
            return this;
        }

        ByteBuffer toByteBuffer() { return b.duplicate().flip(); }
    }
}
