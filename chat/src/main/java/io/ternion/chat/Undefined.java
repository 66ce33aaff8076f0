package io.ternion.chat;

/**
 * Jinja2's default {@code Undefined}: what a missing variable, attribute or item evaluates to. It prints
 * as the empty string, is falsy, has length 0, iterates as empty and equals only another undefined; using
 * it in any other way (an attribute or item of it, arithmetic, ordering, calling it) raises, with the
 * message Jinja2 would give.
 */
final class Undefined {
    private final String message;

    private Undefined(String message) {
        this.message = message;
    }

    /** A variable that is not defined. */
    static Undefined variable(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    /** {@code owner.name} (or {@code owner['name']}) that does not exist. */
    static Undefined attribute(Object owner, String name) {
        String what = owner == null ? "'None'" : "'" + Values.typeName(owner) + " object'";
        return new Undefined(what + " has no attribute '" + name + "'");
    }

    /** {@code owner[key]} with a non-string key that does not exist. */
    static Undefined element(Object owner, Object key) {
        String what = owner == null ? "None" : Values.typeName(owner) + " object";
        return new Undefined(what + " has no element " + PyText.repr(key));
    }

    /** An undefined value with a custom explanation. */
    static Undefined because(String message) {
        return new Undefined(message);
    }

    /** The error to raise when this value is used in a way Jinja2 does not allow. */
    TemplateException error() {
        return new TemplateException(message);
    }

    @Override
    public String toString() {
        return "";
    }
}
