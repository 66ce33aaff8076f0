package io.ternion.gguf;

/**
 * A GGUF file that cannot be read as what it claims to be. The message names the file, the byte
 * offset where the problem was found (when there is one) and what was expected, so a user can act on
 * it from one line.
 */
public final class GgufFormatException extends RuntimeException {
    private final String source;
    private final long offset;
    private final String problem;

    public GgufFormatException(String source, long offset, String problem) {
        super(format(source, offset, problem));
        this.source = source;
        this.offset = offset;
        this.problem = problem;
    }

    public GgufFormatException(String source, long offset, String problem, Throwable cause) {
        this(source, offset, problem);
        initCause(cause);
    }

    private static String format(String source, long offset, String problem) {
        return offset >= 0
                ? source + ": at byte " + offset + ": " + problem
                : source + ": " + problem;
    }

    /** The file (or other source) name. */
    public String source() { return source; }

    /** The byte offset of the problem in the file, or -1 when it has no single place. */
    public long offset() { return offset; }

    /** The problem without file and offset. */
    public String problem() { return problem; }
}
