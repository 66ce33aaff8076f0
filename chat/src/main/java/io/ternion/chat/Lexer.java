package io.ternion.chat;

import io.ternion.chat.Token.Type;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * Turns template source into tokens, following {@code jinja2/lexer.py} rule for rule, because the
 * whitespace a chat template leaves between tags is part of the prompt and must match byte for byte.
 *
 * <p>The rules that decide which characters survive, in Jinja2's order:
 * <ul>
 *   <li>Line endings {@code \r\n} and {@code \r} become {@code \n}, and one newline at the very end of the
 *       source is dropped unless {@code keep_trailing_newline}.</li>
 *   <li>A tag opened with a minus ({@code {%-}, {@code {{-}, {@code {#-}) removes all whitespace, newlines
 *       included, from the text before it; one closed with a minus ({@code -%}}, {@code -}}}, {@code -#}})
 *       removes all whitespace after it.</li>
 *   <li>{@code lstrip_blocks}: spaces and tabs between the start of a line and a block tag or comment
 *       (not a {@code {{ }}}) are removed; {@code {%+} turns this off for one tag.</li>
 *   <li>{@code trim_blocks}: the first newline after a block tag or comment is removed;
 *       {@code +%}} turns this off for one tag. It never applies after {@code }}}.</li>
 * </ul>
 * Inside a tag the end delimiter only counts while brackets are balanced, so a dict literal's
 * {@code }} does not end a {@code {{ ... }}}.
 */
final class Lexer {
    private static final String[] TWO_CHAR_OPERATORS = {"//", "**", "==", "!=", ">=", "<="};
    private static final String ONE_CHAR_OPERATORS = "+-/*%~[](){}><=.:|,;";

    private final String src;
    private final int n;
    private final TemplateOptions options;
    private final int[] lineStarts;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    /**
     * Jinja2's {@code line_starting}: whether the text consumed just before the current template data
     * ended with a newline (true at the start). With {@code lstrip_blocks}, indentation before a tag
     * counts as the start of a line either when the data itself contains a newline or when this is set.
     */
    private boolean lineStarting = true;

    private Lexer(String normalizedSource, TemplateOptions options) {
        this.src = normalizedSource;
        this.n = normalizedSource.length();
        this.options = options;
        this.lineStarts = lineStarts(normalizedSource);
    }

    static List<Token> tokenize(String source, TemplateOptions options) {
        return new Lexer(normalizeNewlines(source, options.keepTrailingNewline()), options).run();
    }

    /** Jinja2 splits the source on {@code \r\n|\r|\n}, drops one empty last line, and joins with {@code \n}. */
    static String normalizeNewlines(String source, boolean keepTrailingNewline) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (!keepTrailingNewline && s.endsWith("\n")) s = s.substring(0, s.length() - 1);
        return s;
    }

    private List<Token> run() {
        while (pos < n) {
            int open = nextTagOpen(pos);
            if (open < 0) {
                data(pos, src.substring(pos));
                pos = n;
                break;
            }
            char kind = src.charAt(open + 1);
            int p = open + 2;
            char sign = 0;
            if (p < n && (src.charAt(p) == '-' || src.charAt(p) == '+')) sign = src.charAt(p++);
            int rawBody = kind == '%' ? rawBeginEnd(p) : -1;
            data(pos, stripBeforeTag(src.substring(pos, open), sign, kind == '{'));
            if (kind == '#') {
                comment(open, p);
            } else if (rawBody >= 0) {
                raw(open, rawBody);
            } else {
                boolean block = kind == '%';
                emit(block ? Type.BLOCK_BEGIN : Type.VARIABLE_BEGIN, block ? "{%" : "{{", open);
                pos = p;
                insideTag(block, open);
            }
        }
        tokens.add(new Token(Type.EOF, "", posAt(n)));
        return tokens;
    }

    /** The earliest {@code {{}, {@code {%} or {@code {#} at or after {@code from}, or -1. */
    private int nextTagOpen(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < n; i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Jinja2's {@code OptionalLStrip}: what is left of the text before a tag after {@code -} and {@code lstrip_blocks}. */
    private String stripBeforeTag(String text, char sign, boolean variableTag) {
        if (sign == '-') return PyText.strip(text, null, false, true);
        if (sign != '+' && options.lstripBlocks() && !variableTag) {
            int lineStart = text.lastIndexOf('\n') + 1;
            if ((lineStart > 0 || lineStarting) && lineStart < text.length() && PyText.isAllSpace(text, lineStart)) {
                return text.substring(0, lineStart);
            }
        }
        return text;
    }

    private void data(int at, String text) {
        if (!text.isEmpty()) emit(Type.DATA, text, at);
    }

    private void emit(Type type, Object value, int at) {
        tokens.add(new Token(type, value, posAt(at)));
    }

    // ---- inside {{ ... }} and {% ... %} ----

    private void insideTag(boolean block, int open) {
        Deque<Character> closers = new ArrayDeque<>();
        while (true) {
            if (pos >= n) {
                String what = block ? "'{%' tag (missing '%}')" : "'{{' tag (missing '}}')";
                throw new TemplateException("unexpected end of template: unclosed " + what, posAt(open));
            }
            if (closers.isEmpty()) {
                int end = block ? blockEnd(pos) : variableEnd(pos);
                if (end >= 0) {
                    emit(block ? Type.BLOCK_END : Type.VARIABLE_END, block ? "%}" : "}}", pos);
                    lineStarting = src.charAt(end - 1) == '\n';
                    pos = end;
                    return;
                }
            }
            char c = src.charAt(pos);
            int end;
            if (PyText.isSpace(c)) {
                pos++;
            } else if ((end = floatEnd(pos)) > 0) {
                emit(Type.FLOAT, Double.parseDouble(src.substring(pos, end).replace("_", "")), pos);
                pos = end;
            } else if ((end = integerEnd(pos)) > 0) {
                emit(Type.INTEGER, integerValue(src.substring(pos, end), posAt(pos)), pos);
                pos = end;
            } else if (isNameStart(src.codePointAt(pos))) {
                end = pos + Character.charCount(src.codePointAt(pos));
                while (end < n && isNamePart(src.codePointAt(end))) end += Character.charCount(src.codePointAt(end));
                emit(Type.NAME, src.substring(pos, end), pos);
                pos = end;
            } else if (c == '\'' || c == '"') {
                end = stringEnd(pos);
                emit(Type.STRING, unescape(src.substring(pos + 1, end - 1), posAt(pos)), pos);
                pos = end;
            } else {
                String op = operatorAt(pos);
                if (op == null) throw new TemplateException("unexpected character '" + c + "'", posAt(pos));
                balance(closers, op);
                emit(Type.OPERATOR, op, pos);
                pos += op.length();
            }
        }
    }

    /** After {@code %}}: {@code +%}} keeps what follows, {@code -%}} eats all whitespace, a plain one eats one newline under trim_blocks. */
    private int blockEnd(int i) {
        if (src.startsWith("+%}", i)) return i + 3;
        if (src.startsWith("-%}", i)) return skipSpace(i + 3);
        if (src.startsWith("%}", i)) return trimOneNewline(i + 2);
        return -1;
    }

    private int variableEnd(int i) {
        if (src.startsWith("-}}", i)) return skipSpace(i + 3);
        if (src.startsWith("}}", i)) return i + 2;
        return -1;
    }

    private int trimOneNewline(int i) {
        return options.trimBlocks() && i < n && src.charAt(i) == '\n' ? i + 1 : i;
    }

    private int skipSpace(int i) {
        while (i < n && PyText.isSpace(src.charAt(i))) i++;
        return i;
    }

    private void balance(Deque<Character> closers, String op) {
        switch (op) {
            case "{" -> closers.push('}');
            case "(" -> closers.push(')');
            case "[" -> closers.push(']');
            case "}", ")", "]" -> {
                if (closers.isEmpty()) throw new TemplateException("unexpected '" + op + "'", posAt(pos));
                char expected = closers.pop();
                if (expected != op.charAt(0)) {
                    throw new TemplateException("unexpected '" + op + "', expected '" + expected + "'", posAt(pos));
                }
            }
            default -> { }
        }
    }

    private String operatorAt(int i) {
        for (String op : TWO_CHAR_OPERATORS) if (src.startsWith(op, i)) return op;
        char c = src.charAt(i);
        return ONE_CHAR_OPERATORS.indexOf(c) >= 0 ? String.valueOf(c) : null;
    }

    // ---- numbers: Jinja2's float_re and integer_re, underscores between digits allowed ----

    /** End of a run of ASCII digits with single underscores between them, or -1. */
    private int digitsEnd(int i, int radix) {
        if (i >= n || !isDigit(src.charAt(i), radix)) return -1;
        int j = i + 1;
        while (j < n) {
            if (isDigit(src.charAt(j), radix)) j++;
            else if (src.charAt(j) == '_' && j + 1 < n && isDigit(src.charAt(j + 1), radix)) j += 2;
            else break;
        }
        return j;
    }

    private static boolean isDigit(char c, int radix) {
        return c < 128 && Character.digit(c, radix) >= 0;
    }

    /** {@code 1.5}, {@code 1e5}, {@code 1.5E-3}; never {@code 1.} or {@code .5}, and not right after a dot. */
    private int floatEnd(int i) {
        if (i > 0 && src.charAt(i - 1) == '.') return -1;
        int whole = digitsEnd(i, 10);
        if (whole < 0) return -1;
        int fraction = whole < n && src.charAt(whole) == '.' ? digitsEnd(whole + 1, 10) : -1;
        int mantissaEnd = fraction > 0 ? fraction : whole;
        if (mantissaEnd < n && (src.charAt(mantissaEnd) == 'e' || src.charAt(mantissaEnd) == 'E')) {
            int e = mantissaEnd + 1;
            if (e < n && (src.charAt(e) == '+' || src.charAt(e) == '-')) e++;
            int exponent = digitsEnd(e, 10);
            if (exponent > 0) return exponent;
        }
        return fraction;
    }

    private int integerEnd(int i) {
        char c = src.charAt(i);
        if (c < '0' || c > '9') return -1;
        if (c == '0' && i + 1 < n) {
            int radix = switch (src.charAt(i + 1)) {
                case 'b', 'B' -> 2;
                case 'o', 'O' -> 8;
                case 'x', 'X' -> 16;
                default -> 0;
            };
            if (radix != 0) {
                int j = i + 2;
                if (j < n && src.charAt(j) == '_') j++;
                int end = digitsEnd(j, radix);
                if (end > 0) return end;
            }
        }
        if (c != '0') return digitsEnd(i, 10);
        int j = i + 1; // 0, 00, 0_0: a zero may only be followed by zeros
        while (j < n && (src.charAt(j) == '0' || (src.charAt(j) == '_' && j + 1 < n && src.charAt(j + 1) == '0'))) j++;
        return j;
    }

    private static Long integerValue(String text, Pos pos) {
        String t = text.replace("_", "").toLowerCase();
        int radix = 10;
        if (t.length() > 1 && t.charAt(0) == '0' && "box".indexOf(t.charAt(1)) >= 0) {
            radix = switch (t.charAt(1)) {
                case 'b' -> 2;
                case 'o' -> 8;
                default -> 16;
            };
            t = t.substring(2);
        }
        try {
            return Long.parseLong(t, radix);
        } catch (NumberFormatException e) {
            throw new TemplateException("integer literal " + text + " is too large (64-bit integers only)", pos);
        }
    }

    // ---- names and strings ----

    private static boolean isNameStart(int cp) {
        return cp == '_' || Character.isUnicodeIdentifierStart(cp);
    }

    private static boolean isNamePart(int cp) {
        return cp == '_' || (Character.isUnicodeIdentifierPart(cp) && !Character.isIdentifierIgnorable(cp));
    }

    /** The index just past the closing quote of the string literal starting at {@code i}. */
    private int stringEnd(int i) {
        char quote = src.charAt(i);
        int j = i + 1;
        while (j < n) {
            char c = src.charAt(j);
            if (c == '\\') j += 2;
            else if (c == quote) return j + 1;
            else j++;
        }
        throw new TemplateException("unterminated string literal", posAt(i));
    }

    /**
     * Python's {@code unicode-escape} decoding, which Jinja2 applies to string literals: {@code \n},
     * {@code \t}, {@code \'}, {@code \"}, {@code \\}, {@code \xhh}, backslash-u with 4 and backslash-U with 8 hex digits,
     * {@code \N{NAME}}, octal, a backslash-newline continuation; an unknown escape stays as written.
     */
    static String unescape(String s, Pos pos) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i++);
            if (c != '\\' || i >= s.length()) {
                out.append(c);
                continue;
            }
            char e = s.charAt(i++);
            switch (e) {
                case '\n' -> { }
                case '\\', '\'', '"' -> out.append(e);
                case 'a' -> out.append('\u0007');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'v' -> out.append('\u000b');
                case 'x', 'u', 'U' -> {
                    int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    int cp = hex(s, i, len);
                    if (cp < 0) throw new TemplateException("truncated \\" + e + " escape in string literal", pos);
                    if (cp > Character.MAX_CODE_POINT) throw new TemplateException("illegal Unicode character in string literal", pos);
                    out.appendCodePoint(cp);
                    i += len;
                }
                case 'N' -> {
                    int close = s.indexOf('}', i);
                    if (i >= s.length() || s.charAt(i) != '{' || close < 0) {
                        throw new TemplateException("malformed \\N character escape in string literal", pos);
                    }
                    try {
                        out.appendCodePoint(Character.codePointOf(s.substring(i + 1, close)));
                    } catch (IllegalArgumentException ex) {
                        throw new TemplateException("unknown Unicode character name in string literal", pos);
                    }
                    i = close + 1;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7'; k++) {
                            v = v * 8 + (s.charAt(i++) - '0');
                        }
                        out.append((char) v);
                    } else {
                        out.append('\\').append(e);
                    }
                }
            }
        }
        return out.toString();
    }

    private static int hex(String s, int from, int len) {
        if (from + len > s.length()) return -1;
        int v = 0;
        for (int k = 0; k < len; k++) {
            int d = Character.digit(s.charAt(from + k), 16);
            if (d < 0 || s.charAt(from + k) >= 128) return -1;
            v = v * 16 + d;
            if (v < 0) return Integer.MAX_VALUE;
        }
        return v;
    }

    // ---- comments and raw blocks ----

    /** A comment runs to the first {@code +#}}, {@code -#}} or {@code #}}, with the same trimming as a block tag. */
    private void comment(int open, int from) {
        for (int i = from; i < n; i++) {
            int end = -1;
            if (src.startsWith("+#}", i)) end = i + 3;
            else if (src.startsWith("-#}", i)) end = skipSpace(i + 3);
            else if (src.startsWith("#}", i)) end = trimOneNewline(i + 2);
            if (end >= 0) {
                lineStarting = src.charAt(end - 1) == '\n';
                pos = end;
                return;
            }
        }
        throw new TemplateException("missing end of comment tag", posAt(open));
    }

    /**
     * If {@code {% raw %}} starts here (just after {@code {%} and its sign), the index after it, else -1.
     * Jinja2 does not apply trim_blocks to the raw tag itself.
     */
    private int rawBeginEnd(int i) {
        int j = skipSpace(i);
        if (!src.startsWith("raw", j)) return -1;
        j = skipSpace(j + 3);
        if (src.startsWith("-%}", j)) return skipSpace(j + 3);
        if (src.startsWith("%}", j)) return j + 2;
        return -1;
    }

    /** The text up to {@code {% endraw %}} is emitted as data, untouched apart from the whitespace rules. */
    private void raw(int open, int bodyStart) {
        lineStarting = src.charAt(bodyStart - 1) == '\n';
        for (int i = src.indexOf("{%", bodyStart); i >= 0; i = src.indexOf("{%", i + 1)) {
            int j = i + 2;
            char sign = 0;
            if (j < n && (src.charAt(j) == '-' || src.charAt(j) == '+')) sign = src.charAt(j++);
            j = skipSpace(j);
            if (!src.startsWith("endraw", j)) continue;
            int end = blockEnd(skipSpace(j + 6));
            if (end < 0) continue;
            data(bodyStart, stripBeforeTag(src.substring(bodyStart, i), sign, false));
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
            return;
        }
        throw new TemplateException("missing end of raw directive", posAt(open));
    }

    // ---- positions ----

    private static int[] lineStarts(String s) {
        int[] starts = new int[16];
        int count = 0;
        starts[count++] = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                if (count == starts.length) starts = Arrays.copyOf(starts, count * 2);
                starts[count++] = i + 1;
            }
        }
        return Arrays.copyOf(starts, count);
    }

    private Pos posAt(int offset) {
        int idx = Arrays.binarySearch(lineStarts, offset);
        int line = idx >= 0 ? idx : -idx - 2;
        return new Pos(line + 1, offset - lineStarts[line] + 1);
    }
}
