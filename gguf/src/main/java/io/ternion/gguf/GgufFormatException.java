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
        return oneLine(offset >= 0
                ? source + ": at byte " + offset + ": " + problem
                : source + ": " + problem);
    }

    /** Escapes line breaks and other control characters: names in the problem come from the file. */
    private static String oneLine(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
            if (control && sb == null) sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (sb == null) continue;
            if (!control) sb.append(c);
            else if (c == '\n') sb.append("\\n");
            else if (c == '\r') sb.append("\\r");
            else if (c == '\t') sb.append("\\t");
            else sb.append(String.format("\\u%04x", (int) c));
        }
        return sb == null ? s : sb.toString();
    }

    /** The file (or other source) name. */
    public String source() { return source; }

    /** The byte offset of the problem in the file, or -1 when it has no single place. */
    public long offset() { return offset; }

    /** The problem without file and offset. */
    public String problem() { return problem; }
}
