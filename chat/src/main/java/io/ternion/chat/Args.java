package io.ternion.chat;

import java.util.List;
import java.util.Map;

/**
 * Binds positional and keyword arguments to parameter names the way a Python function call does, for
 * the built-in filters, tests, methods and functions.
 */
final class Args {
    /** Marks a parameter without a default. */
    static final Object REQUIRED = new Object();

    private Args() {}

    /**
     * @param function   name for error messages
     * @param parameters parameter names, in order
     * @param defaults   default value per parameter, or {@link #REQUIRED}
     * @return the bound values, in parameter order
     */
    static Object[] bind(String function, List<Object> args, Map<String, Object> kwargs, String[] parameters, Object... defaults) {
        if (args.size() > parameters.length) {
            throw Values.typeError(function + "() takes at most " + parameters.length + " argument"
                    + (parameters.length == 1 ? "" : "s") + " (" + args.size() + " given)");
        }
        Object[] bound = new Object[parameters.length];
        boolean[] set = new boolean[parameters.length];
        for (int i = 0; i < args.size(); i++) {
            bound[i] = args.get(i);
            set[i] = true;
        }
        for (Map.Entry<String, Object> e : kwargs.entrySet()) {
            int index = indexOf(parameters, e.getKey());
            if (index < 0) throw Values.typeError(function + "() got an unexpected keyword argument '" + e.getKey() + "'");
            if (set[index]) throw Values.typeError(function + "() got multiple values for argument '" + e.getKey() + "'");
            bound[index] = e.getValue();
            set[index] = true;
        }
        for (int i = 0; i < parameters.length; i++) {
            if (set[i]) continue;
            if (defaults[i] == REQUIRED) throw Values.typeError(function + "() missing required argument '" + parameters[i] + "'");
            bound[i] = defaults[i];
        }
        return bound;
    }

    private static int indexOf(String[] names, String name) {
        for (int i = 0; i < names.length; i++) if (names[i].equals(name)) return i;
        return -1;
    }

    static String string(String function, Object value) {
        if (value instanceof String s) return s;
        throw Values.typeError(function + "() argument must be str, not " + Values.typeName(value));
    }

    static String stringOrNone(String function, Object value) {
        return value == null ? null : string(function, value);
    }

    static long integer(String function, Object value) {
        if (Values.isInteger(value)) return Values.toLong(value);
        throw Values.typeError(function + "() argument must be int, not " + Values.typeName(value));
    }
}
