package io.ternion.chat;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The built-in filters ({@code value | name(args)}), each following its Jinja2 implementation in
 * {@code jinja2/filters.py}, except {@code tojson}, which is transformers' (see {@link Json}).
 */
final class Filters {
    private Filters() {}

    @FunctionalInterface
    interface Filter {
        Object apply(Object value, List<Object> args, Map<String, Object> kwargs);
    }

    private static final Map<String, Filter> FILTERS = new HashMap<>();
    /** Jinja2's {@code title} capitalises the first letter after these (Python's str.title() differs). */
    private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");
    private static final Pattern PYTHON_FLOAT = Pattern.compile(
            "[+-]?(?:(?:\\d(?:_?\\d)*)?\\.?\\d(?:_?\\d)*(?:[eE][+-]?\\d(?:_?\\d)*)?|\\d(?:_?\\d)*\\.|inf|infinity|nan)",
            Pattern.CASE_INSENSITIVE);

    static {
        FILTERS.put("abs", one("abs", Filters::abs));
        FILTERS.put("capitalize", one("capitalize", v -> PyText.capitalize(PyText.str(v))));
        FILTERS.put("default", Filters::defaultFilter);
        FILTERS.put("d", Filters::defaultFilter);
        FILTERS.put("first", one("first", Filters::first));
        FILTERS.put("float", Filters::toFloat);
        FILTERS.put("indent", Filters::indent);
        FILTERS.put("int", Filters::toInt);
        FILTERS.put("items", one("items", Filters::items));
        FILTERS.put("join", Filters::join);
        FILTERS.put("last", one("last", Filters::last));
        FILTERS.put("length", one("length", Values::length));
        FILTERS.put("count", one("count", Values::length));
        FILTERS.put("list", one("list", Values::iterate));
        FILTERS.put("lower", one("lower", v -> PyText.lower(PyText.str(v))));
        FILTERS.put("upper", one("upper", v -> PyText.upper(PyText.str(v))));
        FILTERS.put("map", Filters::map);
        FILTERS.put("reject", (v, a, k) -> select(v, a, k, false, false));
        FILTERS.put("rejectattr", (v, a, k) -> select(v, a, k, false, true));
        FILTERS.put("replace", Filters::replace);
        FILTERS.put("reverse", one("reverse", Filters::reverse));
        FILTERS.put("round", Filters::round);
        FILTERS.put("safe", one("safe", PyText::str));
        FILTERS.put("select", (v, a, k) -> select(v, a, k, true, false));
        FILTERS.put("selectattr", (v, a, k) -> select(v, a, k, true, true));
        FILTERS.put("string", one("string", PyText::str));
        FILTERS.put("title", one("title", Filters::title));
        FILTERS.put("tojson", Filters::tojson);
        FILTERS.put("trim", Filters::trim);
    }

    static boolean exists(String name) {
        return FILTERS.containsKey(name);
    }

    /** Applies a filter; what it returns counts toward the render's {@link Limits#maxCreatedSize()}. */
    static Object apply(String name, Object value, List<Object> args, Map<String, Object> kwargs) {
        Filter f = FILTERS.get(name);
        if (f == null) throw new TemplateException("no filter named '" + name + "'");
        return Guard.made(f.apply(value, args, kwargs));
    }

    /** A filter that takes no arguments besides the value. */
    private static Filter one(String name, Function<Object, Object> f) {
        return (value, args, kwargs) -> {
            Args.bind(name, args, kwargs, new String[0]);
            return f.apply(value);
        };
    }

    private static Object abs(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Double d) return Math.abs(d);
        if (Values.isInteger(v)) return Math.abs(Values.toLong(v));
        throw Values.typeError("bad operand type for abs(): '" + Values.typeName(v) + "'");
    }

    /** {@code default(value, default_value='', boolean=False)}: replaces undefined (or, with boolean, any falsy) values. */
    private static Object defaultFilter(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("default", args, kwargs, new String[] {"default_value", "boolean"}, "", false);
        boolean replace = value instanceof Undefined || (Values.truthy(a[1]) && !Values.truthy(value));
        return replace ? a[0] : value;
    }

    private static Object first(Object v) {
        if (v instanceof String s) return s.isEmpty() ? Undefined.because("No first item, sequence was empty.") : Character.toString(s.codePointAt(0));
        List<Object> items = Values.iterate(v);
        return items.isEmpty() ? Undefined.because("No first item, sequence was empty.") : items.getFirst();
    }

    private static Object last(Object v) {
        if (v instanceof String s) return s.isEmpty() ? Undefined.because("No last item, sequence was empty.") : Character.toString(s.codePointBefore(s.length()));
        List<Object> items = Values.iterate(v);
        return items.isEmpty() ? Undefined.because("No last item, sequence was empty.") : items.getLast();
    }

    /** {@code float(value, default=0.0)}: Python's float(), or the default when that raises. */
    private static Object toFloat(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object fallback = Args.bind("float", args, kwargs, new String[] {"default"}, 0.0)[0];
        Double d = pythonFloat(value);
        return d != null ? d : fallback;
    }

    private static Double pythonFloat(Object value) {
        if (value instanceof Undefined u) throw u.error();
        if (Values.isNumber(value)) return Values.toDouble(value);
        if (value instanceof String s) {
            String t = PyText.strip(s, null, true, true);
            if (!PYTHON_FLOAT.matcher(t).matches()) return null;
            String lower = t.toLowerCase();
            if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            if (lower.endsWith("nan")) return Double.NaN;
            return Double.parseDouble(t.replace("_", ""));
        }
        return null;
    }

    /** {@code int(value, default=0, base=10)}: Python's int(), then int(float(value)), else the default. */
    private static Object toInt(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("int", args, kwargs, new String[] {"default", "base"}, 0L, 10L);
        if (value instanceof Undefined u) throw u.error();
        if (Values.isInteger(value)) return Values.toLong(value);
        if (value instanceof String s) {
            Long parsed = parseInt(PyText.strip(s, null, true, true), (int) Args.integer("int", a[1]));
            if (parsed != null) return parsed;
        }
        Double d = pythonFloat(value);
        if (d == null || d.isNaN()) return a[0];
        if (d.isInfinite()) throw new TemplateException("OverflowError: cannot convert float infinity to integer");
        return (long) (double) d;
    }

    private static Long parseInt(String s, int base) {
        String t = s;
        boolean negative = t.startsWith("-");
        if (t.startsWith("-") || t.startsWith("+")) t = t.substring(1);
        String lower = t.toLowerCase();
        int prefixBase = lower.startsWith("0x") ? 16 : lower.startsWith("0o") ? 8 : lower.startsWith("0b") ? 2 : 0;
        if (prefixBase != 0 && (base == prefixBase || base == 0)) {
            t = t.substring(2);
            if (t.startsWith("_")) t = t.substring(1);
            base = prefixBase;
        } else if (base == 0) {
            base = 10;
        }
        if (t.isEmpty() || t.startsWith("_") || t.endsWith("_") || t.contains("__")) return null;
        try {
            long v = Long.parseLong(t.replace("_", ""), base);
            return negative ? -v : v;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Object items(Object v) {
        if (v instanceof Undefined) return new ArrayList<>();
        if (!(v instanceof Map<?, ?> m)) throw Values.typeError("Can only get item pairs from a mapping.");
        List<Object> out = new ArrayList<>(m.size());
        m.forEach((k, val) -> out.add(PyTuple.of(k, val)));
        return out;
    }

    /** {@code join(value, d='', attribute=None)}. */
    private static Object join(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("join", args, kwargs, new String[] {"d", "attribute"}, "", null);
        Function<Object, Object> get = a[1] == null ? Function.identity() : attributeGetter(a[1], null);
        StringBuilder sb = new StringBuilder();
        String separator = PyText.str(a[0]);
        List<Object> items = Values.iterate(value);
        Guard guard = Guard.current();
        for (int i = 0; i < items.size(); i++) {
            String item = PyText.str(get.apply(items.get(i)));
            guard.string(sb.length() + (i > 0 ? (long) separator.length() : 0) + item.length());
            guard.tick();
            if (i > 0) sb.append(separator);
            sb.append(item);
        }
        return sb.toString();
    }

    /** {@code indent(s, width=4, first=False, blank=False)}: indents every line but the first (and blank ones). */
    private static Object indent(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("indent", args, kwargs, new String[] {"width", "first", "blank"}, 4L, false, false);
        Guard guard = Guard.current();
        String pad;
        if (a[0] instanceof String s) {
            pad = s;
        } else {
            long width = Math.max(0, Args.integer("indent", a[0]));
            guard.string(width);
            pad = " ".repeat((int) width);
        }
        String text = PyText.str(value);
        List<Object> lines = PyText.splitlines(text + "\n", false);
        // each line may get the pad, and the text a newline: check the most it can be before building it
        guard.string(text.length() + 1L + Guard.times(lines.size() + 1L, pad.length()));
        StringBuilder sb = new StringBuilder();
        if (Values.truthy(a[2])) {
            for (int i = 0; i < lines.size(); i++) sb.append(i > 0 ? "\n" + pad : "").append(lines.get(i));
        } else {
            sb.append(lines.getFirst());
            for (int i = 1; i < lines.size(); i++) {
                String line = (String) lines.get(i);
                sb.append('\n').append(line.isEmpty() ? "" : pad).append(line);
            }
        }
        return Values.truthy(a[1]) ? pad + sb : sb.toString();
    }

    /** {@code map(attribute='x', default=...)} or {@code map('filter', args...)}. */
    private static Object map(Object value, List<Object> args, Map<String, Object> kwargs) {
        List<Object> out = new ArrayList<>();
        if (!Values.truthy(value)) return out;
        Function<Object, Object> f;
        if (args.isEmpty() && kwargs.containsKey("attribute")) {
            Map<String, Object> rest = new LinkedHashMap<>(kwargs);
            Object attribute = rest.remove("attribute");
            Object fallback = rest.remove("default");
            if (!rest.isEmpty()) throw new TemplateException("unexpected keyword argument '" + rest.keySet().iterator().next() + "'");
            f = attributeGetter(attribute, fallback);
        } else {
            if (args.isEmpty()) throw new TemplateException("map requires a filter argument");
            String name = Args.string("map", args.getFirst());
            List<Object> rest = args.subList(1, args.size());
            f = item -> apply(name, item, rest, kwargs);
        }
        Guard guard = Guard.current();
        for (Object item : Values.iterate(value)) {
            guard.tick();
            out.add(f.apply(item));
        }
        return out;
    }

    /** select/reject (by a test, or truthiness) and selectattr/rejectattr (the same on an attribute). */
    private static Object select(Object value, List<Object> args, Map<String, Object> kwargs, boolean keep, boolean onAttribute) {
        List<Object> out = new ArrayList<>();
        if (!Values.truthy(value)) return out;
        int offset = 0;
        Function<Object, Object> get = Function.identity();
        if (onAttribute) {
            if (args.isEmpty()) throw new TemplateException("missing parameter for attribute name");
            get = attributeGetter(args.getFirst(), null);
            offset = 1;
        }
        Function<Object, Boolean> test;
        if (args.size() > offset) {
            String name = Args.string("select", args.get(offset));
            List<Object> rest = args.subList(offset + 1, args.size());
            test = item -> Tests.apply(name, item, rest, kwargs);
        } else {
            test = Values::truthy;
        }
        Guard guard = Guard.current();
        for (Object item : Values.iterate(value)) {
            guard.tick();
            if (test.apply(get.apply(item)) == keep) out.add(item);
        }
        return out;
    }

    /** Jinja2's {@code make_attrgetter}: {@code 'a.b.0'} looks up item by item, numbers as indexes. */
    private static Function<Object, Object> attributeGetter(Object attribute, Object fallback) {
        List<Object> parts = new ArrayList<>();
        if (attribute instanceof String s) {
            for (String part : s.split("\\.", -1)) parts.add(!part.isEmpty() && part.chars().allMatch(Character::isDigit) ? (Object) Long.parseLong(part) : part);
        } else {
            parts.add(attribute);
        }
        return item -> {
            for (Object part : parts) item = Values.getItem(item, part);
            return fallback != null && item instanceof Undefined ? fallback : item;
        };
    }

    /** {@code replace(s, old, new, count=None)}. */
    private static Object replace(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("replace", args, kwargs, new String[] {"old", "new", "count"}, Args.REQUIRED, Args.REQUIRED, null);
        long count = a[2] == null ? -1 : Args.integer("replace", a[2]);
        return PyText.replace(PyText.str(value), PyText.str(a[0]), PyText.str(a[1]), count);
    }

    private static Object reverse(Object v) {
        if (v instanceof String s) return new StringBuilder(s).reverse().toString();
        List<Object> items = Values.iterate(v);
        Collections.reverse(items);
        return items;
    }

    /** {@code round(value, precision=0, method='common')}: common is Python's round(), half to even on the exact value. */
    private static Object round(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("round", args, kwargs, new String[] {"precision", "method"}, 0L, "common");
        int precision = (int) Args.integer("round", a[0]);
        String method = PyText.str(a[1]);
        if (value instanceof Undefined u) throw u.error();
        if (!Values.isNumber(value)) throw Values.typeError("type " + Values.typeName(value) + " doesn't define __round__ method");
        RoundingMode mode = switch (method) {
            case "common" -> RoundingMode.HALF_EVEN;
            case "ceil" -> RoundingMode.CEILING;
            case "floor" -> RoundingMode.FLOOR;
            default -> throw new TemplateException("method must be common, ceil or floor");
        };
        if (mode == RoundingMode.HALF_EVEN && Values.isInteger(value)) return Values.toLong(value);
        double d = Values.toDouble(value);
        if (Double.isNaN(d) || Double.isInfinite(d)) return d;
        return new BigDecimal(d).setScale(precision, mode).doubleValue();
    }

    /** Jinja2's {@code title}: each word (after a space, dash or opening bracket) upper-cased first letter, rest lower. */
    private static Object title(Object v) {
        String s = PyText.str(v);
        StringBuilder sb = new StringBuilder();
        var m = WORD_BEGINNING.matcher(s);
        int last = 0;
        while (m.find()) {
            titleWord(sb, s.substring(last, m.start()));
            titleWord(sb, m.group());
            last = m.end();
        }
        titleWord(sb, s.substring(last));
        return sb.toString();
    }

    private static void titleWord(StringBuilder sb, String word) {
        if (word.isEmpty()) return;
        int first = word.codePointAt(0);
        sb.append(PyText.upper(Character.toString(first))).append(PyText.lower(word.substring(Character.charCount(first))));
    }

    /** transformers' {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    private static Object tojson(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object[] a = Args.bind("tojson", args, kwargs, new String[] {"ensure_ascii", "indent", "separators", "sort_keys"}, false, null, null, false);
        String indent = switch (a[1]) {
            case null -> null;
            case String s -> s;
            default -> {
                long width = Math.max(0, Args.integer("tojson", a[1]));
                Guard.checkString(width);
                yield " ".repeat((int) width);
            }
        };
        String itemSeparator = indent == null ? ", " : ",";
        String keySeparator = ": ";
        if (a[2] != null) {
            List<Object> seps = Values.iterate(a[2]);
            if (seps.size() != 2) throw new TemplateException("ValueError: separators must be a pair of strings");
            itemSeparator = Args.string("tojson", seps.get(0));
            keySeparator = Args.string("tojson", seps.get(1));
        }
        return Json.dumps(value, Values.truthy(a[0]), indent, itemSeparator, keySeparator, Values.truthy(a[3]));
    }

    /** {@code trim(value, chars=None)}: strip both ends. */
    private static Object trim(Object value, List<Object> args, Map<String, Object> kwargs) {
        Object chars = Args.bind("trim", args, kwargs, new String[] {"chars"}, (Object) null)[0];
        return PyText.strip(PyText.str(value), Args.stringOrNone("trim", chars), true, true);
    }
}
