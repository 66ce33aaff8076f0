package io.ternion.cli;

import io.ternion.gguf.InputFiles;
import java.io.IOException;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the commands read from and write to on a user's word: prompt files, standard input, output paths. */
final class UserFiles {
    private UserFiles() {}

    /** Throws unless {@code file} can be written (its folder exists and is writable, and it is no folder itself): said before a long run, not after. */
    static void checkWritable(Path file, String flag) {
        Path dir = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) throw new IllegalArgumentException(flag + " " + file + " is a directory, not a file to write");
        if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException(flag + " " + file + ": the folder " + dir + " does not exist");
        if (!Files.isWritable(dir)) throw new IllegalArgumentException(flag + " " + file + ": the folder " + dir + " is not writable");
    }

    /**
     * A prompt can hold only as many tokens as a context, which a few MiB of text exceed many times
     * over: a larger file is refused before it is read, let alone tokenized.
     */
    static final long MAX_PROMPT_BYTES = 8L << 20;

    /** The file's text ({@code -}: standard input), at most {@link #MAX_PROMPT_BYTES}; invalid UTF-8 is an error naming the byte offset. */
    static String readUtf8(Path file) throws IOException {
        byte[] bytes;
        if (file.toString().equals("-")) {
            try (var in = InputFiles.bounded(System.in, MAX_PROMPT_BYTES, "standard input", "a prompt")) {
                bytes = in.readAllBytes();
            }
        } else {
            bytes = InputFiles.readAtMost(file, MAX_PROMPT_BYTES, "a prompt");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (MalformedInputException e) {
            throw new IllegalArgumentException(file + ": invalid UTF-8 at byte " + firstInvalid(bytes));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": invalid UTF-8");
        }
    }

    private static int firstInvalid(byte[] b) {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b);
        var out = java.nio.CharBuffer.allocate(b.length + 1);
        dec.decode(in, out, true);
        return in.position();
    }

    /** A line of standard input, at most as long as a prompt file may be (an endless line, as /dev/zero gives, is an error); null at the end. */
    static String readLine(Reader in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != -1; ) {
            if (c == '\n') return line.toString().stripTrailing();
            if (line.length() >= MAX_PROMPT_BYTES) {
                throw new IllegalArgumentException("a chat message may be at most " + (MAX_PROMPT_BYTES >> 20) + " MiB");
            }
            line.append((char) c);
        }
        return line.isEmpty() ? null : line.toString();
    }
}
