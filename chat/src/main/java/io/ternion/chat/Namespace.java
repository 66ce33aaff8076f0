package io.ternion.chat;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The object {@code namespace(...)} returns: the one thing a template may assign attributes to
 * ({@code {% set ns.found = true %}}), which is how a value escapes a loop body's scope.
 */
final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();

    @Override
    public String toString() {
        return PyText.repr(this);
    }
}
