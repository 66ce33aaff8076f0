package io.ternion.chat;

/**
 * A template that cannot be compiled (a syntax error, an unknown filter or test) or rendered (an
 * undefined value used where Jinja2 raises, a type error, {@code raise_exception(...)} in the
 * template), or that exceeds one of its {@link Limits} (the reason names the limit, for example
 * {@code loop iterations exceed 100000}). {@link #getMessage()} is one line: the reason followed by
 * the place in the template when it is known.
 */
public final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String reason;
    private final int line;
    private final int column;

    /** A failure whose place is not known yet; the renderer adds it on the way out. */
    public TemplateException(String reason) {
        this(reason, 0, 0);
    }

    public TemplateException(String reason, int line, int column) {
        super(line > 0 ? reason + " (line " + line + ", column " + column + ")" : reason);
        this.reason = reason;
        this.line = line;
        this.column = column;
    }

    TemplateException(String reason, Pos pos) {
        this(reason, pos == null ? 0 : pos.line(), pos == null ? 0 : pos.column());
    }

    /** The message without the place. */
    public String reason() {
        return reason;
    }

    /** 1-based line in the template source, or 0 when unknown. */
    public int line() {
        return line;
    }

    /** 1-based column in the template source, or 0 when unknown. */
    public int column() {
        return column;
    }

    /** This exception with a place, unless it already has one (the innermost place is the most precise). */
    TemplateException at(Pos pos) {
        if (line > 0 || pos == null) return this;
        TemplateException located = new TemplateException(reason, pos);
        located.setStackTrace(getStackTrace());
        return located;
    }
}
