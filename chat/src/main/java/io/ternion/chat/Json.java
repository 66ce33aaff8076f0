package io.ternion.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, which is what {@code tojson} is in a chat template: transformers replaces
 * Jinja2's own filter (which escapes {@code < > & '} for HTML) with
 * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}.
 * So the default separators are {@code ", "} and {@code ": "} ({@code ","} and {@code ": "} with an
 * indent), non-ASCII text is written as is, and floats print as Python's repr.
 *
 * <p>The text is checked against the render's string length limit as it grows, and values nested deeper
 * than its render depth limit fail instead of recursing on.
 */
final class Json {
    private Json() {}

    /**
     * @param indent         null for one line, otherwise the indent string per level
     * @param itemSeparator  between items ({@code ", "} by default)
     * @param keySeparator   between a key and its value ({@code ": "} by default)
     */
    static String dumps(Object value, boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
        StringBuilder sb = new StringBuilder();
        new Json.Writer(sb, Guard.current(), ensureAscii, indent, itemSeparator, keySeparator, sortKeys).write(value, 0);
        return sb.toString();
    }

    private record Writer(StringBuilder sb, Guard guard, boolean ensureAscii, String indent, String itemSeparator, String keySeparator,
                          boolean sortKeys) {
        void write(Object value, int level) {
            guard.string(sb.length());
            guard.tick();
            switch (value) {
                case null -> sb.append("null");
                case Boolean b -> sb.append(b ? "true" : "false");
                case Long l -> sb.append(l);
                case Double d -> sb.append(number(d));
                case String s -> string(s);
                case List<?> l -> {
                    if (l.isEmpty()) {
                        sb.append("[]");
                        return;
                    }
                    Guard.checkValueDepth(level + 1);
                    sb.append('[');
                    for (int i = 0; i < l.size(); i++) {
                        sb.append(i == 0 ? "" : itemSeparator);
                        newline(level + 1);
                        write(l.get(i), level + 1);
                    }
                    newline(level);
                    sb.append(']');
                }
                case Map<?, ?> m -> {
                    if (m.isEmpty()) {
                        sb.append("{}");
                        return;
                    }
                    Guard.checkValueDepth(level + 1);
                    List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                    if (sortKeys) entries.sort((x, y) -> Values.compare("<", x.getKey(), y.getKey()) ? -1 : Values.equal(x.getKey(), y.getKey()) ? 0 : 1);
                    sb.append('{');
                    boolean first = true;
                    for (Map.Entry<?, ?> e : entries) {
                        sb.append(first ? "" : itemSeparator);
                        first = false;
                        newline(level + 1);
                        string(key(e.getKey()));
                        sb.append(keySeparator);
                        write(e.getValue(), level + 1);
                    }
                    newline(level);
                    sb.append('}');
                }
                default -> throw Values.typeError("Object of type " + Values.typeName(value) + " is not JSON serializable");
            }
        }

        private void newline(int level) {
            if (indent == null) return;
            guard.string(sb.length() + 1L + Guard.times(indent.length(), level));
            sb.append('\n');
            for (int i = 0; i < level; i++) sb.append(indent);
        }

        /** JSON object keys must be strings; Python converts numbers, booleans and None. */
        private static String key(Object k) {
            return switch (k) {
                case String s -> s;
                case null -> "null";
                case Boolean b -> b ? "true" : "false";
                case Long l -> l.toString();
                case Double d -> number(d);
                default -> throw Values.typeError("keys must be str, int, float, bool or None, not " + Values.typeName(k));
            };
        }

        private static String number(double d) {
            if (Double.isNaN(d)) return "NaN";
            if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
            return PyText.floatRepr(d);
        }

        private void string(String s) {
            guard.string(sb.length() + 2L + s.length());
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
            guard.string(sb.length()); // escapes make it up to six times longer
        }
    }
}
