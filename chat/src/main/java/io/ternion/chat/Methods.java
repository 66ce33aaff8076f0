package io.ternion.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Python methods templates call on values: {@code text.startswith('<tool_response>')},
 * {@code content.split('</think>')[-1].lstrip('\n')}, {@code message.get('tool_calls')},
 * {@code tool.items()}.
 *
 * <p>Like Jinja2's {@code ImmutableSandboxedEnvironment}, methods that would modify a list or dict
 * ({@code append}, {@code update}, ...) are unsafe: the attribute is an undefined value that raises when
 * called. A Python {@code str} method that is not implemented here raises a clear error when called.
 */
final class Methods {
    private Methods() {}

    private static final Set<String> STR_METHODS = Set.of(
            "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
            "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
            "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
            "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
            "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
            "title", "translate", "upper", "zfill");
    private static final Set<String> DICT_UNSAFE = Set.of("clear", "pop", "popitem", "setdefault", "update");
    private static final Set<String> LIST_UNSAFE = Set.of("append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort");
    private static final String[] NO_PARAMS = {};
    private static final String[] SUB_START_END = {"sub", "start", "end"};

    /**
     * The attribute {@code name} of {@code self} when it is a method: a callable bound to {@code self},
     * an undefined value for an unsafe one, or null when {@code self} has no such method.
     */
    static Object bind(Object self, String name) {
        return switch (self) {
            case String s -> STR_METHODS.contains(name) ? new BoundMethod(self, name, (args, kwargs) -> string(s, name, args, kwargs)) : null;
            case PyTuple t -> name.equals("count") || name.equals("index")
                    ? new BoundMethod(self, name, (args, kwargs) -> sequence(t, name, args, kwargs)) : null;
            case List<?> l -> {
                if (LIST_UNSAFE.contains(name)) yield unsafe(name, "list");
                yield name.equals("count") || name.equals("index") || name.equals("copy")
                        ? new BoundMethod(self, name, (args, kwargs) -> sequence(l, name, args, kwargs)) : null;
            }
            case Map<?, ?> m -> {
                if (DICT_UNSAFE.contains(name)) yield unsafe(name, "dict");
                yield switch (name) {
                    case "items", "keys", "values", "get", "copy" -> new BoundMethod(self, name, (args, kwargs) -> dict(m, name, args, kwargs));
                    default -> null;
                };
            }
            case null, default -> null;
        };
    }

    /** A method together with the value it belongs to; prints like Python's. */
    private record BoundMethod(Object self, String name, TemplateCallable body) implements TemplateCallable {
        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            return body.call(args, kwargs);
        }

        @Override
        public String toString() {
            return "<built-in method " + name + " of " + Values.typeName(self) + " object>";
        }
    }

    private static Undefined unsafe(String name, String type) {
        return Undefined.because("access to attribute '" + name + "' of '" + type + "' object is unsafe.");
    }

    private static Object dict(Map<?, ?> m, String name, List<Object> args, Map<String, Object> kwargs) {
        switch (name) {
            case "items" -> {
                Args.bind("items", args, kwargs, NO_PARAMS);
                List<Object> out = new ArrayList<>(m.size());
                m.forEach((k, v) -> out.add(PyTuple.of(k, v)));
                return out;
            }
            case "keys" -> {
                Args.bind("keys", args, kwargs, NO_PARAMS);
                return new ArrayList<Object>(m.keySet());
            }
            case "values" -> {
                Args.bind("values", args, kwargs, NO_PARAMS);
                return new ArrayList<Object>(m.values());
            }
            case "copy" -> {
                Args.bind("copy", args, kwargs, NO_PARAMS);
                return new LinkedHashMap<Object, Object>(m);
            }
            default -> { // get
                Object[] a = Args.bind("get", args, kwargs, new String[] {"key", "default"}, Args.REQUIRED, null);
                if (m.containsKey(a[0])) return m.get(a[0]);
                for (Map.Entry<?, ?> e : m.entrySet()) if (Values.equal(e.getKey(), a[0])) return e.getValue();
                return a[1];
            }
        }
    }

    private static Object sequence(List<?> l, String name, List<Object> args, Map<String, Object> kwargs) {
        if (name.equals("copy")) {
            Args.bind("copy", args, kwargs, NO_PARAMS);
            return new ArrayList<Object>(l);
        }
        Object x = Args.bind(name, args, kwargs, new String[] {"value"}, Args.REQUIRED)[0];
        long count = 0;
        for (int i = 0; i < l.size(); i++) {
            if (Values.equal(l.get(i), x)) {
                if (name.equals("index")) return (long) i;
                count++;
            }
        }
        if (name.equals("index")) throw new TemplateException("ValueError: " + PyText.repr(x) + " is not in list");
        return count;
    }

    /** Calls a str method that takes no arguments. */
    static Object string(String s, String name) {
        return string(s, name, List.of(), Map.of());
    }

    private static Object string(String s, String name, List<Object> args, Map<String, Object> kwargs) {
        switch (name) {
            case "startswith", "endswith" -> {
                Object[] a = Args.bind(name, args, kwargs, new String[] {"prefix", "start", "end"}, Args.REQUIRED, null, null);
                String region = region(s, a[1], a[2]);
                List<?> candidates = a[0] instanceof List<?> l ? l : List.of(Args.string(name, a[0]));
                for (Object c : candidates) {
                    String affix = Args.string(name, c);
                    if (name.equals("startswith") ? region.startsWith(affix) : region.endsWith(affix)) return true;
                }
                return false;
            }
            case "split", "rsplit" -> {
                Object[] a = Args.bind(name, args, kwargs, new String[] {"sep", "maxsplit"}, null, -1L);
                String sep = Args.stringOrNone(name, a[0]);
                long max = Args.integer(name, a[1]);
                return name.equals("split") ? PyText.split(s, sep, max) : PyText.rsplit(s, sep, max);
            }
            case "splitlines" -> {
                Object[] a = Args.bind(name, args, kwargs, new String[] {"keepends"}, false);
                return PyText.splitlines(s, Values.truthy(a[0]));
            }
            case "strip", "lstrip", "rstrip" -> {
                Object[] a = Args.bind(name, args, kwargs, new String[] {"chars"}, (Object) null);
                String chars = Args.stringOrNone(name, a[0]);
                return PyText.strip(s, chars, !name.equals("rstrip"), !name.equals("lstrip"));
            }
            case "upper", "lower", "casefold", "title", "capitalize" -> {
                Args.bind(name, args, kwargs, NO_PARAMS);
                return switch (name) {
                    case "upper" -> PyText.upper(s);
                    case "title" -> PyText.title(s);
                    case "capitalize" -> PyText.capitalize(s);
                    default -> PyText.lower(s);
                };
            }
            case "replace" -> {
                Object[] a = Args.bind(name, args, kwargs, new String[] {"old", "new", "count"}, Args.REQUIRED, Args.REQUIRED, -1L);
                return PyText.replace(s, Args.string(name, a[0]), Args.string(name, a[1]), Args.integer(name, a[2]));
            }
            case "find", "rfind", "index", "rindex", "count" -> {
                Object[] a = Args.bind(name, args, kwargs, SUB_START_END, Args.REQUIRED, null, null);
                String sub = Args.string(name, a[0]);
                String region = region(s, a[1], a[2]);
                long offset = a[1] == null ? 0 : PyText.length(s) - PyText.length(region(s, a[1], null));
                if (name.equals("count")) return count(region, sub);
                int at = name.startsWith("r") ? PyText.lastIndexOf(region, sub, region.length()) : PyText.indexOf(region, sub, 0);
                if (at < 0) {
                    if (name.endsWith("index")) throw new TemplateException("ValueError: substring not found");
                    return -1L;
                }
                return offset + region.codePointCount(0, at);
            }
            case "join" -> {
                Object iterable = Args.bind(name, args, kwargs, new String[] {"iterable"}, Args.REQUIRED)[0];
                StringBuilder sb = new StringBuilder();
                List<Object> items = Values.iterate(iterable);
                Guard guard = Guard.current();
                for (int i = 0; i < items.size(); i++) {
                    if (!(items.get(i) instanceof String item)) {
                        throw Values.typeError("sequence item " + i + ": expected str instance, " + Values.typeName(items.get(i)) + " found");
                    }
                    guard.string(sb.length() + (i > 0 ? (long) s.length() : 0) + item.length());
                    guard.tick();
                    if (i > 0) sb.append(s);
                    sb.append(item);
                }
                return sb.toString();
            }
            case "removeprefix", "removesuffix" -> {
                String affix = Args.string(name, Args.bind(name, args, kwargs, new String[] {"affix"}, Args.REQUIRED)[0]);
                if (name.equals("removeprefix")) return s.startsWith(affix) ? s.substring(affix.length()) : s;
                return s.endsWith(affix) && !affix.isEmpty() ? s.substring(0, s.length() - affix.length()) : s;
            }
            case "isspace", "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum" -> {
                Args.bind(name, args, kwargs, NO_PARAMS);
                return !s.isEmpty() && s.codePoints().allMatch(cp -> switch (name) {
                    case "isspace" -> PyText.isSpace(cp);
                    case "isalpha" -> Character.isLetter(cp);
                    case "isalnum" -> Character.isLetterOrDigit(cp);
                    default -> Character.isDigit(cp);
                });
            }
            case "isupper", "islower" -> {
                Args.bind(name, args, kwargs, NO_PARAMS);
                boolean upper = name.equals("isupper");
                boolean anyCased = false;
                for (int cp : s.codePoints().toArray()) {
                    if (Character.isUpperCase(cp) || Character.isTitleCase(cp)) {
                        if (!upper) return false;
                        anyCased = true;
                    } else if (Character.isLowerCase(cp)) {
                        if (upper) return false;
                        anyCased = true;
                    }
                }
                return anyCased;
            }
            default -> throw new TemplateException("the str method '" + name + "' is not supported");
        }
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) return PyText.length(s) + 1;
        long n = 0;
        for (int at = PyText.indexOf(s, sub, 0); at >= 0; at = PyText.indexOf(s, sub, at + sub.length())) n++;
        return n;
    }

    /** {@code s[start:end]}, without copying when both are None. */
    private static String region(String s, Object start, Object end) {
        return start == null && end == null ? s : (String) Values.slice(s, start, end, null);
    }
}
