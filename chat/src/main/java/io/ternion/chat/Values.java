package io.ternion.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Python value semantics, as a Jinja2 template sees them.
 *
 * <p>The value model: {@code null} is None, {@link Boolean}, {@link Long} (int), {@link Double} (float),
 * {@link String}, {@link List} (list; {@link PyTuple} for tuple), {@link Map} (dict, insertion-ordered),
 * {@link Undefined}, {@link Namespace}, {@link LoopContext} and {@link TemplateCallable}.
 * {@link #fromJava} brings caller data into that model.
 *
 * <p>Differences from Python: integers are 64-bit (overflow is an error, not a big integer).
 *
 * <p>Operations that make a value larger than their operands ({@code +}, {@code *}) check its size
 * against the render's {@link Limits} before allocating it, and the recursive ones (comparing, copying
 * caller data) fail at {@link Limits#maxRenderDepth()} on values nested deeper than that.
 */
final class Values {
    private Values() {}

    // ---- conversion of caller data ----

    /**
     * Deep copy of caller data into the template value model: maps, collections, arrays, records (as a
     * dict of their components, so a {@link Message} is {@code {'role': ..., 'content': ...}}), Jackson
     * trees, strings, characters, numbers and booleans.
     */
    static Object fromJava(Object value) {
        return fromJava(value, 0);
    }

    private static Object fromJava(Object value, int depth) {
        Guard.checkValueDepth(depth); // caller data nested too deep (or a map that contains itself)
        int inner = depth + 1;
        return switch (value) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Double d -> d;
            case Float f -> f.doubleValue();
            case BigDecimal d -> d.doubleValue();
            case BigInteger b -> {
                if (b.bitLength() > 63) throw new TemplateException("integer " + b + " is too large (64-bit integers only)");
                yield b.longValue();
            }
            case Number n -> n.longValue();
            case CharSequence cs -> cs.toString();
            case Character c -> c.toString();
            case Undefined u -> u;
            case Namespace ns -> ns;
            case TemplateCallable c -> c;
            case PyTuple t -> {
                List<Object> items = new ArrayList<>(t.size());
                for (Object o : t) items.add(fromJava(o, inner));
                yield new PyTuple(items);
            }
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) out.put(fromJava(e.getKey(), inner), fromJava(e.getValue(), inner));
                yield out;
            }
            case Collection<?> c -> {
                List<Object> out = new ArrayList<>(c.size());
                for (Object o : c) out.add(fromJava(o, inner));
                yield out;
            }
            case JsonNode j -> fromJson(j, depth);
            case Message m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                out.put("role", m.role());
                out.put("content", m.content());
                yield out;
            }
            case Record r -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (RecordComponent rc : r.getClass().getRecordComponents()) {
                    try {
                        out.put(rc.getName(), fromJava(rc.getAccessor().invoke(r), inner));
                    } catch (ReflectiveOperationException e) {
                        throw new TemplateException("cannot read " + r.getClass().getSimpleName() + "." + rc.getName());
                    }
                }
                yield out;
            }
            default -> {
                if (value.getClass().isArray()) {
                    int n = Array.getLength(value);
                    List<Object> out = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) out.add(fromJava(Array.get(value, i), inner));
                    yield out;
                }
                throw new TemplateException("unsupported value type for a template: " + value.getClass().getName());
            }
        };
    }

    private static Object fromJson(JsonNode j, int depth) {
        Guard.checkValueDepth(depth);
        if (j.isObject()) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : j.properties()) out.put(e.getKey(), fromJson(e.getValue(), depth + 1));
            return out;
        }
        if (j.isArray()) {
            List<Object> out = new ArrayList<>(j.size());
            for (JsonNode item : j) out.add(fromJson(item, depth + 1));
            return out;
        }
        if (j.isTextual()) return j.textValue();
        if (j.isBoolean()) return j.booleanValue();
        if (j.isIntegralNumber()) return fromJava(j.bigIntegerValue());
        if (j.isNumber()) return j.doubleValue();
        return null;
    }

    // ---- type names, truthiness ----

    /** Python's type name, for error messages. */
    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case String s -> "str";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case PyTuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Namespace n -> "Namespace";
            case LoopContext l -> "LoopContext";
            case TemplateCallable c -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    /** Python's {@code bool(value)}. */
    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0.0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case Undefined u -> false;
            default -> true;
        };
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    /** An int in Python's sense: bool is an int subclass. */
    static boolean isInteger(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static long toLong(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).longValue();
    }

    static double toDouble(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).doubleValue();
    }

    static TemplateException typeError(String message) {
        return new TemplateException("TypeError: " + message);
    }

    private static void failIfUndefined(Object a, Object b) {
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
    }

    private static long exact(LongSupplier op) {
        try {
            return op.getAsLong();
        } catch (ArithmeticException e) {
            throw new TemplateException("integer overflow (integers are 64-bit here)");
        }
    }

    // ---- arithmetic ----

    static Object binary(String op, Object a, Object b) {
        return switch (op) {
            case "+" -> add(a, b);
            case "-" -> subtract(a, b);
            case "*" -> multiply(a, b);
            case "/" -> divide(a, b);
            case "//" -> floorDivide(a, b);
            case "%" -> modulo(a, b);
            case "**" -> power(a, b);
            default -> throw new IllegalArgumentException(op);
        };
    }

    private static TemplateException unsupported(String op, Object a, Object b) {
        return typeError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    static Object add(Object a, Object b) {
        failIfUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) return toDouble(a) + toDouble(b);
            return exact(() -> Math.addExact(toLong(a), toLong(b)));
        }
        if (a instanceof String x && b instanceof String y) {
            Guard.checkString((long) x.length() + y.length());
            return x + y;
        }
        if (a instanceof List<?> x && b instanceof List<?> y && (a instanceof PyTuple) == (b instanceof PyTuple)) {
            Guard.checkList((long) x.size() + y.size());
            List<Object> out = new ArrayList<>(x);
            out.addAll(y);
            return a instanceof PyTuple ? new PyTuple(out) : out;
        }
        if (a instanceof String) throw typeError("can only concatenate str (not \"" + typeName(b) + "\") to str");
        if (a instanceof List<?> && !(a instanceof PyTuple)) {
            throw typeError("can only concatenate list (not \"" + typeName(b) + "\") to list");
        }
        throw unsupported("+", a, b);
    }

    static Object subtract(Object a, Object b) {
        failIfUndefined(a, b);
        if (!isNumber(a) || !isNumber(b)) throw unsupported("-", a, b);
        if (a instanceof Double || b instanceof Double) return toDouble(a) - toDouble(b);
        return exact(() -> Math.subtractExact(toLong(a), toLong(b)));
    }

    static Object multiply(Object a, Object b) {
        failIfUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) return toDouble(a) * toDouble(b);
            return exact(() -> Math.multiplyExact(toLong(a), toLong(b)));
        }
        if (isInteger(a) && !isNumber(b)) return multiply(b, a);
        if (isInteger(b)) {
            long times = Math.max(0, toLong(b));
            if (a instanceof String s) {
                if (s.isEmpty()) return s;
                Guard.checkString(Guard.times(s.length(), times)); // before allocating: 'a' * 10**12 must not try
                return s.repeat((int) times);
            }
            if (a instanceof List<?> l) {
                if (l.isEmpty()) times = 0; // [] * 10**12 is [] at once
                Guard.checkList(Guard.times(l.size(), times));
                List<Object> out = new ArrayList<>((int) Guard.times(l.size(), times));
                for (long k = 0; k < times; k++) out.addAll(l);
                return a instanceof PyTuple ? new PyTuple(out) : out;
            }
        }
        throw unsupported("*", a, b);
    }

    static Object divide(Object a, Object b) {
        failIfUndefined(a, b);
        if (!isNumber(a) || !isNumber(b)) throw unsupported("/", a, b);
        if (toDouble(b) == 0) throw new TemplateException("ZeroDivisionError: division by zero");
        return toDouble(a) / toDouble(b);
    }

    static Object floorDivide(Object a, Object b) {
        failIfUndefined(a, b);
        if (!isNumber(a) || !isNumber(b)) throw unsupported("//", a, b);
        if (toDouble(b) == 0) throw new TemplateException("ZeroDivisionError: integer division or modulo by zero");
        if (a instanceof Double || b instanceof Double) return Math.floor(toDouble(a) / toDouble(b));
        return Math.floorDiv(toLong(a), toLong(b));
    }

    static Object modulo(Object a, Object b) {
        failIfUndefined(a, b);
        if (a instanceof String) throw new TemplateException("printf-style formatting (str % args) is not supported");
        if (!isNumber(a) || !isNumber(b)) throw unsupported("%", a, b);
        if (toDouble(b) == 0) throw new TemplateException("ZeroDivisionError: integer division or modulo by zero");
        if (a instanceof Double || b instanceof Double) {
            double x = toDouble(a);
            double y = toDouble(b);
            double r = x % y; // C fmod; Python's result takes the sign of the divisor
            if (r != 0 && (r < 0) != (y < 0)) r += y;
            return r == 0 ? Math.copySign(0.0, y) : r;
        }
        return Math.floorMod(toLong(a), toLong(b));
    }

    static Object power(Object a, Object b) {
        failIfUndefined(a, b);
        if (!isNumber(a) || !isNumber(b)) throw unsupported("** or pow()", a, b);
        if (isInteger(a) && isInteger(b) && toLong(b) >= 0) {
            long base = toLong(a);
            long exponent = toLong(b);
            return exact(() -> {
                long result = 1;
                long square = base;
                for (long e = exponent; e > 0; e >>= 1) {
                    if ((e & 1) == 1) result = Math.multiplyExact(result, square);
                    if (e > 1) square = Math.multiplyExact(square, square);
                }
                return result;
            });
        }
        if (toDouble(a) == 0 && toDouble(b) < 0) {
            throw new TemplateException("ZeroDivisionError: 0.0 cannot be raised to a negative power");
        }
        return Math.pow(toDouble(a), toDouble(b));
    }

    static Object negate(Object a, boolean minus) {
        if (a instanceof Undefined u) throw u.error();
        if (!isNumber(a)) throw typeError("bad operand type for unary " + (minus ? "-" : "+") + ": '" + typeName(a) + "'");
        if (a instanceof Double d) return minus ? -d : d;
        return minus ? exact(() -> Math.negateExact(toLong(a))) : toLong(a);
    }

    // ---- comparison ----

    /** Python's {@code ==}. An undefined value equals only another undefined value. */
    static boolean equal(Object a, Object b) {
        return equal(a, b, 0);
    }

    private static boolean equal(Object a, Object b, int depth) {
        if (a == b) return true;
        if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
        if (a == null || b == null) return false;
        if (isNumber(a) && isNumber(b)) return compareNumbers(a, b) == 0;
        if (a instanceof String x && b instanceof String y) return x.equals(y);
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if ((a instanceof PyTuple) != (b instanceof PyTuple) || x.size() != y.size()) return false;
            Guard.checkValueDepth(depth + 1);
            Guard guard = Guard.current();
            for (int i = 0; i < x.size(); i++) {
                guard.tick();
                if (!equal(x.get(i), y.get(i), depth + 1)) return false;
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) return false;
            Guard.checkValueDepth(depth + 1);
            Guard guard = Guard.current();
            for (Map.Entry<?, ?> e : x.entrySet()) {
                guard.tick();
                if (!y.containsKey(e.getKey()) || !equal(e.getValue(), y.get(e.getKey()), depth + 1)) return false;
            }
            return true;
        }
        return a.equals(b);
    }

    /** Numbers compared exactly, as Python does (an int and a float are not rounded to the same double). NaN: 2. */
    private static int compareNumbers(Object a, Object b) {
        if (isInteger(a) && isInteger(b)) return Long.compare(toLong(a), toLong(b));
        double x = toDouble(a);
        double y = toDouble(b);
        if (Double.isNaN(x) || Double.isNaN(y)) return 2;
        if (isInteger(a) != isInteger(b) && !Double.isInfinite(x) && !Double.isInfinite(y)) {
            BigDecimal bx = isInteger(a) ? BigDecimal.valueOf(toLong(a)) : new BigDecimal(x);
            BigDecimal by = isInteger(b) ? BigDecimal.valueOf(toLong(b)) : new BigDecimal(y);
            return bx.compareTo(by);
        }
        return x < y ? -1 : x > y ? 1 : 0;
    }

    /** A comparison operator of the template language: {@code == != < <= > >= in notin}. */
    static boolean compare(String op, Object a, Object b) {
        return switch (op) {
            case "==" -> equal(a, b);
            case "!=" -> !equal(a, b);
            case "in" -> contains(b, a);
            case "notin" -> !contains(b, a);
            default -> order(op, a, b);
        };
    }

    private static boolean order(String op, Object a, Object b) {
        return order(op, a, b, 0);
    }

    private static boolean order(String op, Object a, Object b, int depth) {
        failIfUndefined(a, b);
        int c;
        if (isNumber(a) && isNumber(b)) {
            c = compareNumbers(a, b);
            if (c == 2) return false; // NaN is unordered
        } else if (a instanceof String x && b instanceof String y) {
            c = compareCodePoints(x, y);
        } else if (a instanceof List<?> x && b instanceof List<?> y && (a instanceof PyTuple) == (b instanceof PyTuple)) {
            // Python: the first pair that differs decides, with the same operator; else the lengths do
            Guard.checkValueDepth(depth + 1);
            Guard guard = Guard.current();
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                guard.tick();
                if (!equal(x.get(i), y.get(i), depth + 1)) return order(op, x.get(i), y.get(i), depth + 1);
            }
            c = Integer.compare(x.size(), y.size());
        } else {
            throw typeError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
        }
        return switch (op) {
            case "<" -> c < 0;
            case "<=" -> c <= 0;
            case ">" -> c > 0;
            case ">=" -> c >= 0;
            default -> throw new IllegalArgumentException(op);
        };
    }

    /** Python orders strings by code point (Java's compareTo orders by UTF-16 unit). */
    static int compareCodePoints(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) return Integer.compare(a, b);
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Boolean.compare(i < x.length(), j < y.length());
    }

    /** Python's {@code item in container}. */
    static boolean contains(Object container, Object item) {
        return switch (container) {
            case String s -> {
                if (!(item instanceof String sub)) {
                    throw typeError("'in <string>' requires string as left operand, not " + typeName(item));
                }
                yield PyText.contains(s, sub);
            }
            case List<?> l -> {
                Guard guard = Guard.current();
                for (Object o : l) {
                    guard.tick();
                    if (equal(o, item)) yield true;
                }
                yield false;
            }
            case Map<?, ?> m -> {
                if (m.containsKey(item)) yield true;
                for (Object k : m.keySet()) if (equal(k, item)) yield true;
                yield false;
            }
            case Undefined u -> false;
            case null, default -> throw typeError("argument of type '" + typeName(container) + "' is not iterable");
        };
    }

    // ---- containers ----

    /** Python's {@code len(value)}; Jinja2's undefined has length 0. */
    static long length(Object v) {
        return switch (v) {
            case String s -> PyText.length(s);
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            case null, default -> throw typeError("object of type '" + typeName(v) + "' has no len()");
        };
    }

    /** The items a for loop visits: list items, dict keys, string characters; nothing for undefined. */
    static List<Object> iterate(Object v) {
        return switch (v) {
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> {
                Guard.checkList(PyText.length(s)); // one string per character: check before making them
                yield PyText.characters(s);
            }
            case Undefined u -> List.of();
            case null, default -> throw typeError("'" + typeName(v) + "' object is not iterable");
        };
    }

    /**
     * {@code obj.name}, the way Jinja2's sandbox does it: a Python attribute first (a method of str, dict
     * or list, an attribute of {@code loop} or a namespace), then the dict item, else undefined. Only an
     * undefined {@code obj} raises.
     */
    static Object getAttribute(Object obj, String name) {
        if (obj instanceof Undefined u) throw u.error();
        Object attribute = pythonAttribute(obj, name);
        if (attribute != null) return attribute;
        if (obj instanceof Map<?, ?> m && m.containsKey(name)) return m.get(name);
        return Undefined.attribute(obj, name);
    }

    /**
     * {@code obj[key]}: the item first (list and string indexes may be negative; a dict key), then, for a
     * string key, the Python attribute; else undefined. Only an undefined {@code obj} raises.
     */
    static Object getItem(Object obj, Object key) {
        if (obj instanceof Undefined u) throw u.error();
        if (isInteger(key) && obj instanceof String s) {
            long n = PyText.length(s);
            long i = toLong(key);
            if (i < 0) i += n;
            if (i >= 0 && i < n) return Character.toString(s.codePointAt(s.offsetByCodePoints(0, (int) i)));
        } else if (isInteger(key) && obj instanceof List<?> items) {
            long i = toLong(key);
            if (i < 0) i += items.size();
            if (i >= 0 && i < items.size()) return items.get((int) i);
        } else if (obj instanceof Map<?, ?> m) {
            if (m.containsKey(key)) return m.get(key);
            if (isNumber(key)) {
                for (Map.Entry<?, ?> e : m.entrySet()) if (equal(e.getKey(), key)) return e.getValue();
            }
        }
        if (key instanceof String name) {
            Object attribute = pythonAttribute(obj, name);
            return attribute != null ? attribute : Undefined.attribute(obj, name);
        }
        return Undefined.element(obj, key);
    }

    /** A Python attribute of a value, or null when it has none by that name. */
    private static Object pythonAttribute(Object obj, String name) {
        return switch (obj) {
            case Namespace ns -> ns.attributes.containsKey(name) ? ns.attributes.get(name) : null;
            case LoopContext loop -> {
                Object value = loop.attribute(name);
                yield value instanceof Undefined ? null : value;
            }
            case null -> null;
            default -> Methods.bind(obj, name);
        };
    }

    /** {@code obj[start:stop:step]} on a string, list or tuple, with Python's index clamping. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) throw u.error();
        // Jinja2 compiles a slice to a plain Python subscript, so here a wrong type raises instead of being undefined
        if (obj instanceof Map<?, ?>) throw typeError("unhashable type: 'slice'");
        if (!(obj instanceof String) && !(obj instanceof List<?>)) throw typeError("'" + typeName(obj) + "' object is not subscriptable");
        int[] codePoints = obj instanceof String s ? s.codePoints().toArray() : null;
        List<?> items = codePoints == null ? (List<?>) obj : null;
        int n = codePoints != null ? codePoints.length : items.size();
        long st = sliceIndex(step, 1);
        if (st == 0) throw new TemplateException("ValueError: slice step cannot be zero");
        long lo = start == null ? (st < 0 ? n - 1 : 0) : clamp(sliceIndex(start, 0), n, st);
        long hi = stop == null ? (st < 0 ? -1 : n) : clamp(sliceIndex(stop, 0), n, st);
        if (codePoints != null) {
            StringBuilder sb = new StringBuilder();
            for (long i = lo; st > 0 ? i < hi : i > hi; i += st) sb.appendCodePoint(codePoints[(int) i]);
            return sb.toString();
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) out.add(items.get((int) i));
        return obj instanceof PyTuple ? new PyTuple(out) : out;
    }

    private static long sliceIndex(Object v, long ifNone) {
        if (v == null) return ifNone;
        if (!isInteger(v)) throw typeError("slice indices must be integers or None or have an __index__ method");
        return toLong(v);
    }

    private static long clamp(long i, int n, long step) {
        if (i < 0) {
            i += n;
            if (i < 0) i = step < 0 ? -1 : 0;
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    }
}
