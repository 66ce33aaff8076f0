package io.ternion.chat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** The built-in tests ({@code value is name(args)}), after {@code jinja2/tests.py}. */
final class Tests {
    private Tests() {}

    @FunctionalInterface
    interface Test {
        boolean test(Object value, List<Object> args, Map<String, Object> kwargs);
    }

    private static final Map<String, Test> TESTS = new HashMap<>();

    static {
        TESTS.put("defined", one("defined", v -> !(v instanceof Undefined)));
        TESTS.put("undefined", one("undefined", v -> v instanceof Undefined));
        TESTS.put("none", one("none", v -> v == null));
        TESTS.put("boolean", one("boolean", v -> v instanceof Boolean));
        TESTS.put("true", one("true", Boolean.TRUE::equals));
        TESTS.put("false", one("false", Boolean.FALSE::equals));
        TESTS.put("integer", one("integer", v -> v instanceof Long));
        TESTS.put("float", one("float", v -> v instanceof Double));
        TESTS.put("number", one("number", Values::isNumber));
        TESTS.put("string", one("string", v -> v instanceof String));
        TESTS.put("mapping", one("mapping", v -> v instanceof Map<?, ?>));
        TESTS.put("iterable", one("iterable", v -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String || v instanceof Undefined));
        TESTS.put("sequence", one("sequence", v -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String || v instanceof Undefined));
        TESTS.put("callable", one("callable", v -> v instanceof TemplateCallable));
        TESTS.put("escaped", one("escaped", v -> false));
        TESTS.put("lower", one("lower", v -> (Boolean) Methods.string(PyText.str(v), "islower")));
        TESTS.put("upper", one("upper", v -> (Boolean) Methods.string(PyText.str(v), "isupper")));
        TESTS.put("odd", one("odd", v -> Values.toLong(Values.modulo(v, 2L)) == 1));
        TESTS.put("even", one("even", v -> Values.toLong(Values.modulo(v, 2L)) == 0));
        TESTS.put("divisibleby", (v, a, k) -> {
            Object n = Args.bind("divisibleby", a, k, new String[] {"num"}, Args.REQUIRED)[0];
            return Values.equal(Values.modulo(v, n), 0L);
        });
        TESTS.put("in", (v, a, k) -> Values.contains(Args.bind("in", a, k, new String[] {"seq"}, Args.REQUIRED)[0], v));
        TESTS.put("sameas", (v, a, k) -> sameAs(v, Args.bind("sameas", a, k, new String[] {"other"}, Args.REQUIRED)[0]));
        TESTS.put("filter", (v, a, k) -> v instanceof String s && Filters.exists(s));
        TESTS.put("test", (v, a, k) -> v instanceof String s && TESTS.containsKey(s));
        for (String op : new String[] {"==", "eq", "equalto"}) TESTS.put(op, comparison(op, "=="));
        for (String op : new String[] {"!=", "ne"}) TESTS.put(op, comparison(op, "!="));
        for (String op : new String[] {"<", "lt", "lessthan"}) TESTS.put(op, comparison(op, "<"));
        for (String op : new String[] {"<=", "le"}) TESTS.put(op, comparison(op, "<="));
        for (String op : new String[] {">", "gt", "greaterthan"}) TESTS.put(op, comparison(op, ">"));
        for (String op : new String[] {">=", "ge"}) TESTS.put(op, comparison(op, ">="));
    }

    static boolean exists(String name) {
        return TESTS.containsKey(name);
    }

    static boolean apply(String name, Object value, List<Object> args, Map<String, Object> kwargs) {
        Test t = TESTS.get(name);
        if (t == null) throw new TemplateException("no test named '" + name + "'");
        return t.test(value, args, kwargs);
    }

    private static Test one(String name, Predicate<Object> p) {
        return (value, args, kwargs) -> {
            Args.bind(name, args, kwargs, new String[0]);
            return p.test(value);
        };
    }

    private static Test comparison(String name, String op) {
        return (value, args, kwargs) -> Values.compare(op, value, Args.bind(name, args, kwargs, new String[] {"b"}, Args.REQUIRED)[0]);
    }

    /** Python's {@code is}: identity; None, booleans and small integers are singletons in CPython. */
    private static boolean sameAs(Object a, Object b) {
        if (a == b) return true;
        if (a instanceof Boolean x && b instanceof Boolean y) return x.equals(y);
        if (a instanceof Long x && b instanceof Long y) return x.equals(y) && x >= -5 && x <= 256;
        return false;
    }
}
