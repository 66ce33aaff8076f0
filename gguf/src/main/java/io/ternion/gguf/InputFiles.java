package io.ternion.gguf;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Files a user names (models, tokenizers, prompts) are read only when they are regular files, and
 * only up to a size: a pipe, {@code /dev/zero} or {@code /dev/urandom} would block or never end,
 * and a stray multi-gigabyte file would fill the heap before anything could say what is wrong.
 */
public final class InputFiles {
    private InputFiles() {}

    /** Throws a {@link FileSystemException} naming {@code path} unless it is a regular file (a missing file is left to the reader). */
    public static void requireRegular(Path path) throws IOException {
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new FileSystemException(path.toString(), null, "not a regular file (a directory, a pipe or a device); Ternion reads only regular files");
        }
    }

    /** All of a regular file's bytes, or an error naming it when it holds more than {@code max}; {@code what}: "a prompt", "a tokenizer". */
    public static byte[] readAtMost(Path path, long max, String what) throws IOException {
        requireRegular(path);
        long size = Files.size(path);
        if (size > max) throw tooLarge(path.toString(), "is " + mib(size), max, what);
        try (InputStream in = bounded(Files.newInputStream(path), max, path.toString(), what)) {
            return in.readAllBytes();
        }
    }

    /** {@code in}, failing with an error naming {@code source} once more than {@code max} bytes have been read (a stream, or what a gzip file unpacks to). */
    public static InputStream bounded(InputStream in, long max, String source, String what) {
        return new FilterInputStream(in) {
            private long read;

            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b >= 0) count(1);
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                if (n > 0) count(n);
                return n;
            }

            private void count(int n) throws IOException {
                read += n;
                if (read > max) throw tooLarge(source, "holds more than that", max, what);
            }
        };
    }

    private static IOException tooLarge(String source, String size, long max, String what) {
        return new FileSystemException(source, null, what + " may be at most " + mib(max) + "; this one " + size);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
