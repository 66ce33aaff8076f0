package io.ternion.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of a request's JSON fields. A field that is absent or {@code null} takes its default;
 * one of the wrong type or out of range is a 400 naming the field and what it takes (never echoing
 * the value, which may be large).
 */
final class Fields {
    private Fields() {}

    /** What a JSON value is, for messages: "a string", "an array", ... */
    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> v.isIntegralNumber() ? "an integer" : "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL, MISSING -> "null";
            default -> "a " + v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    static boolean present(JsonNode body, String name) {
        JsonNode v = body.get(name);
        return v != null && !v.isNull();
    }

    static Long integer(JsonNode body, String name, long min, long max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return null;
        boolean integral = v.isIntegralNumber() || (v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) && !Double.isInfinite(v.asDouble()));
        if (!integral) throw ApiError.badRequest(name + " must be an integer, not " + kind(v), name);
        if (!v.canConvertToLong() && v.isIntegralNumber()) throw ApiError.badRequest(name + " must be from " + min + " to " + max, name);
        long x = v.isIntegralNumber() ? v.asLong() : (long) v.asDouble();
        if (x < min || x > max) throw ApiError.badRequest(name + " must be from " + min + " to " + max + ", not " + x, name);
        return x;
    }

    static Double number(JsonNode body, String name, double min, double max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw ApiError.badRequest(name + " must be a number, not " + kind(v), name);
        double x = v.asDouble();
        if (!(x >= min && x <= max)) throw ApiError.badRequest(name + " must be from " + min + " to " + max + ", not " + x, name);
        return x;
    }

    static boolean bool(JsonNode body, String name, boolean fallback) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw ApiError.badRequest(name + " must be true or false, not " + kind(v), name);
        return v.asBoolean();
    }

    static String string(JsonNode body, String name, String fallback) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw ApiError.badRequest(name + " must be a string, not " + kind(v), name);
        return v.asText();
    }

    /** A field that is a string or a list of strings (OpenAI's {@code stop}); empty when absent. */
    static List<String> strings(JsonNode body, String name, int maxItems) {
        JsonNode v = body.get(name);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) return out;
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            if (v.size() > maxItems) throw ApiError.badRequest(name + " takes at most " + maxItems + " strings, not " + v.size(), name);
            for (JsonNode item : v) {
                if (!item.isTextual()) throw ApiError.badRequest(name + " must be a string or a list of strings, but an item is " + kind(item), name);
                out.add(item.asText());
            }
        } else {
            throw ApiError.badRequest(name + " must be a string or a list of strings, not " + kind(v), name);
        }
        for (String s : out) if (s.isEmpty()) throw ApiError.badRequest(name + " strings must not be empty", name);
        return out;
    }

    /** A field that must be an object when present; null when absent. */
    static JsonNode object(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw ApiError.badRequest(name + " must be an object, not " + kind(v), name);
        return v;
    }
}
