package io.ternion.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Python's text behaviour, which templates inherit from Jinja2: {@code str()} and {@code repr()} of
 * values (including Python's shortest float repr), what counts as whitespace, and the {@code str}
 * methods with Python's exact edge cases. Strings are handled by code point, as Python indexes them.
 */
final class PyText {
    private PyText() {}

    // ---- whitespace ----

    /** Python's {@code str.isspace()} for one code point (the same set as {@code \s} in Python's re). */
    static boolean isSpace(int cp) {
        return switch (cp) {
            case '\t', '\n', 0x0b, '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0, 0x1680,
                    0x2028, 0x2029, 0x202f, 0x205f, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200a;
        };
    }

    /** Whether {@code s[from:]} is all whitespace (true when empty). */
    static boolean isAllSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) if (!isSpace(s.charAt(i))) return false;
        return true;
    }

    // ---- str() and repr() ----

    /** Python's {@code str(value)}; an undefined value is the empty string, as Jinja2 prints it. */
    static String str(Object value) {
        return switch (value) {
            case null -> "None";
            case String s -> s;
            case Undefined u -> "";
            default -> repr(value);
        };
    }

    /**
     * Python's {@code repr(value)}, which is also how list and dict items print. The text is checked
     * against the render's string length limit as it grows, and a value nested deeper than its render
     * depth limit (or a namespace that contains itself) fails instead of recursing on.
     */
    static String repr(Object value) {
        if (value instanceof String s) return reprString(s);
        Repr r = new Repr(Guard.current());
        r.write(value, 0);
        return r.sb.toString();
    }

    /** repr() of nested values into one buffer, so that its length is checked as it grows. */
    private record Repr(Guard guard, StringBuilder sb) {
        Repr(Guard guard) {
            this(guard, new StringBuilder());
        }

        void write(Object value, int depth) {
            switch (value) {
                case null -> append("None");
                case String s -> append(reprString(s));
                case PyTuple t -> {
                    if (t.size() == 1) {
                        open("(", depth);
                        write(t.get(0), depth + 1);
                        append(",)");
                    } else {
                        items(t, "(", ")", depth);
                    }
                }
                case List<?> l -> items(l, "[", "]", depth);
                case Map<?, ?> m -> {
                    open("{", depth);
                    boolean first = true;
                    for (Map.Entry<?, ?> e : m.entrySet()) {
                        if (!first) append(", ");
                        first = false;
                        write(e.getKey(), depth + 1);
                        append(": ");
                        write(e.getValue(), depth + 1);
                    }
                    append("}");
                }
                case Namespace ns -> { // Jinja2: f"<Namespace {self.__attrs!r}>"
                    open("<Namespace ", depth);
                    write(ns.attributes, depth + 1);
                    append(">");
                }
                default -> append(scalar(value));
            }
        }

        private void open(String text, int depth) {
            Guard.checkValueDepth(depth + 1);
            append(text);
        }

        private void items(List<?> items, String open, String close, int depth) {
            open(open, depth);
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) append(", ");
                write(items.get(i), depth + 1);
            }
            append(close);
        }

        private void append(String text) {
            guard.string(sb.length() + (long) text.length());
            guard.tick();
            sb.append(text);
        }
    }

    /** repr() of a value that holds no other values. */
    private static String scalar(Object value) {
        return switch (value) {
            case null -> "None";
            case String s -> reprString(s);
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            case Undefined u -> "Undefined";
            default -> value.toString();
        };
    }

    private static String reprString(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        Guard.checkString(s.length() + 2L);
        StringBuilder sb = new StringBuilder(s.length() + 2).append(quote);
        s.codePoints().forEach(cp -> {
            if (cp == quote || cp == '\\') sb.append('\\').appendCodePoint(cp);
            else if (cp == '\t') sb.append("\\t");
            else if (cp == '\n') sb.append("\\n");
            else if (cp == '\r') sb.append("\\r");
            else if (cp < ' ' || cp == 0x7f) sb.append(String.format("\\x%02x", cp));
            else if (cp < 0x7f || isPrintable(cp)) sb.appendCodePoint(cp);
            else if (cp <= 0xff) sb.append(String.format("\\x%02x", cp));
            else if (cp <= 0xffff) sb.append(String.format("\\u%04x", cp));
            else sb.append(String.format("\\U%08x", cp));
        });
        Guard.checkString(sb.length() + 1L); // escapes make it up to five times longer
        return sb.append(quote).toString();
    }

    /** Python's {@code str.isprintable()} for one code point. */
    private static boolean isPrintable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> cp == ' ';
            default -> true;
        };
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that read back to the same double (Java's
     * {@link Double#toString} finds the same digits), laid out Python's way: positional notation for
     * decimal exponents from -4 to 15 ({@code 0.0001}, {@code 1e+16}, {@code 1e-05}), and {@code .0} on
     * whole numbers.
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal shortest = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int decimalPoint = digits.length() - shortest.scale(); // value = 0.digits * 10^decimalPoint
        StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
        if (decimalPoint > -4 && decimalPoint <= 16) {
            if (decimalPoint <= 0) {
                sb.append("0.").append("0".repeat(-decimalPoint)).append(digits);
            } else if (decimalPoint >= digits.length()) {
                sb.append(digits).append("0".repeat(decimalPoint - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, decimalPoint).append('.').append(digits, decimalPoint, digits.length());
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
            int exponent = decimalPoint - 1;
            sb.append('e').append(exponent < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exponent));
            if (e.length() < 2) sb.append('0');
            sb.append(e);
        }
        return sb.toString();
    }

    // ---- code point indexing ----

    static int length(String s) {
        return s.codePointCount(0, s.length());
    }

    /** The string's code points, each as its own string (what iterating a Python str gives). */
    static List<Object> characters(String s) {
        List<Object> out = new ArrayList<>(s.length());
        s.codePoints().forEach(cp -> out.add(Character.toString(cp)));
        return out;
    }

    // ---- substring search ----

    /** Needles up to this long are searched with {@link String#indexOf}, whose worst case is length times this. */
    private static final int SHORT_NEEDLE = 64;

    /**
     * {@code s.indexOf(sub, from)}. Java's search compares the needle at every position, so a long needle
     * in a long haystack ({@code 'a' * 10**7} in itself plus one) takes quadratic time; for long needles
     * this searches position by position and polls the render's wall time.
     */
    static int indexOf(String s, String sub, int from) {
        int m = sub.length();
        if (m <= SHORT_NEEDLE) return s.indexOf(sub, from);
        Guard guard = Guard.current();
        char first = sub.charAt(0);
        for (int i = Math.max(from, 0), last = s.length() - m; i <= last; i++) {
            if (s.charAt(i) != first) continue;
            guard.tick(m);
            if (s.regionMatches(i, sub, 0, m)) return i;
        }
        return -1;
    }

    /** {@code s.lastIndexOf(sub, from)}, with the same care for long needles as {@link #indexOf}. */
    static int lastIndexOf(String s, String sub, int from) {
        int m = sub.length();
        if (m <= SHORT_NEEDLE) return s.lastIndexOf(sub, from);
        Guard guard = Guard.current();
        char first = sub.charAt(0);
        for (int i = Math.min(from, s.length() - m); i >= 0; i--) {
            if (s.charAt(i) != first) continue;
            guard.tick(m);
            if (s.regionMatches(i, sub, 0, m)) return i;
        }
        return -1;
    }

    static boolean contains(String s, String sub) {
        return indexOf(s, sub, 0) >= 0;
    }

    // ---- str methods ----

    /** {@code str.strip/lstrip/rstrip(chars)}: chars null means whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end) {
                int cp = s.codePointAt(start);
                if (!stripped(cp, chars)) break;
                start += Character.charCount(cp);
            }
        }
        if (right) {
            while (end > start) {
                int cp = s.codePointBefore(end);
                if (!stripped(cp, chars)) break;
                end -= Character.charCount(cp);
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isSpace(cp) : chars.indexOf(Character.toString(cp)) >= 0;
    }

    /** {@code str.split(sep, maxsplit)}; sep null splits on whitespace runs and drops empty pieces. */
    static List<Object> split(String s, String sep, long maxsplit) {
        List<Object> out = new Pieces();
        if (maxsplit < 0) maxsplit = Long.MAX_VALUE;
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (maxsplit-- > 0) {
                while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                if (i == n) break;
                int j = i;
                while (i < n && !isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                out.add(s.substring(j, i));
            }
            while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
            if (i < n) out.add(s.substring(i));
            return out;
        }
        if (sep.isEmpty()) throw new TemplateException("empty separator");
        int from = 0;
        int at;
        while (maxsplit-- > 0 && (at = indexOf(s, sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    /** The list split() and splitlines() fill: it fails before it would grow past the list length limit. */
    private static final class Pieces extends ArrayList<Object> {
        private final Guard guard = Guard.current();

        @Override
        public boolean add(Object piece) {
            guard.list(size() + 1L);
            return super.add(piece);
        }

        @Override
        public void addFirst(Object piece) {
            guard.list(size() + 1L);
            super.addFirst(piece);
        }
    }

    /** {@code str.rsplit(sep, maxsplit)}: like split, but the splits are made from the right. */
    static List<Object> rsplit(String s, String sep, long maxsplit) {
        if (maxsplit < 0) return split(s, sep, maxsplit);
        List<Object> out = new Pieces();
        if (sep == null) {
            int i = s.length();
            while (maxsplit-- > 0) {
                while (i > 0 && isSpace(s.codePointBefore(i))) i -= Character.charCount(s.codePointBefore(i));
                if (i == 0) break;
                int j = i;
                while (i > 0 && !isSpace(s.codePointBefore(i))) i -= Character.charCount(s.codePointBefore(i));
                out.addFirst(s.substring(i, j));
            }
            while (i > 0 && isSpace(s.codePointBefore(i))) i -= Character.charCount(s.codePointBefore(i));
            if (i > 0) out.addFirst(s.substring(0, i));
            return out;
        }
        if (sep.isEmpty()) throw new TemplateException("empty separator");
        int end = s.length();
        int at;
        while (maxsplit-- > 0 && end >= sep.length() && (at = lastIndexOf(s, sep, end - sep.length())) >= 0) {
            out.addFirst(s.substring(at + sep.length(), end));
            end = at;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    /** {@code str.splitlines(keepends)}: Python's line boundaries are more than {@code \n}. */
    static List<Object> splitlines(String s, boolean keepends) {
        List<Object> out = new Pieces();
        int i = 0;
        int start = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            int eol;
            if (c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n') eol = 2;
            else if (c == '\n' || c == '\r' || c == 0x0b || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e
                    || c == 0x85 || c == 0x2028 || c == 0x2029) eol = 1;
            else eol = 0;
            if (eol > 0) {
                out.add(s.substring(start, keepends ? i + eol : i));
                i += eol;
                start = i;
            } else {
                i++;
            }
        }
        if (start < n) out.add(s.substring(start));
        return out;
    }

    static String upper(String s) {
        return s.toUpperCase(Locale.ROOT);
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /** {@code str.capitalize()}: the first character in title case, the rest lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return Character.toString(Character.toTitleCase(first)) + lower(s.substring(Character.charCount(first)));
    }

    /** {@code str.title()}: a cased character after a cased character is lowered, any other one title-cased. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (previousCased) sb.append(lower(Character.toString(cp)));
            else sb.appendCodePoint(Character.toTitleCase(cp));
            previousCased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
        }
        return sb.toString();
    }

    /** {@code str.replace(old, new, count)}; an empty old inserts new between all characters, as in Python. */
    static String replace(String s, String old, String replacement, long count) {
        if (count < 0) count = Long.MAX_VALUE;
        Guard guard = Guard.current();
        StringBuilder sb = new StringBuilder();
        if (old.isEmpty()) {
            guard.string(s.length() + Guard.times(Math.min(count, length(s) + 1L), replacement.length()));
            int i = 0;
            while (i < s.length() && count-- > 0) {
                int cp = s.codePointAt(i);
                sb.append(replacement).appendCodePoint(cp);
                i += Character.charCount(cp);
            }
            if (count > 0 && i >= s.length()) sb.append(replacement);
            return sb.append(s, Math.min(i, s.length()), s.length()).toString();
        }
        int from = 0;
        int at;
        while (count-- > 0 && (at = indexOf(s, old, from)) >= 0) {
            guard.string((long) sb.length() + (at - from) + replacement.length() + (s.length() - at - old.length()));
            sb.append(s, from, at).append(replacement);
            from = at + old.length();
        }
        return sb.append(s, from, s.length()).toString();
    }
}
