package io.ternion.chat;

import java.util.HashMap;
import java.util.Map;

/**
 * Variables visible at one point of a render. Jinja2's scoping: a for loop iteration, a macro call
 * and a set block each get a child scope, so {@code {% set %}} inside them is forgotten afterwards
 * (which is why templates use {@code namespace()}), while an {@code if} shares its enclosing scope.
 */
final class Scope {
    private final Scope parent;
    private final Map<String, Object> variables = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    Scope child() {
        return new Scope(this);
    }

    /** The innermost binding of {@code name}, or an undefined value. */
    Object lookup(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            if (s.variables.containsKey(name)) return s.variables.get(name);
        }
        return Undefined.variable(name);
    }

    void set(String name, Object value) {
        variables.put(name, value);
    }
}
