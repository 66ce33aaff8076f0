package io.ternion.chat;

import java.util.List;

/** Statement syntax tree: what a template body is made of. */
sealed interface Node {

    /** Template text, emitted as is. */
    record Text(String text) implements Node {}

    /** {@code {{ expr }}}. */
    record Output(Expr expr) implements Node {}

    /** {@code if}/{@code elif} branches in order, then the {@code else} body (maybe empty). */
    record If(List<Expr> tests, List<List<Node>> bodies, List<Node> orElse) implements Node {}

    /** {@code {% for target in iterable if filter %} body {% else %} orElse {% endfor %}}; filter may be null. */
    record For(Pos pos, Target target, Expr iterable, Expr filter, List<Node> body, List<Node> orElse) implements Node {}

    /** {@code {% set target = value %}}. */
    record Set(Pos pos, Target target, Expr value) implements Node {}

    /** {@code {% set target | filters %} body {% endset %}}; filter is a chain ending in a null target, or null. */
    record SetBlock(Pos pos, Target target, Expr.Filter filter, List<Node> body) implements Node {}

    /** {@code {% macro name(params) %}}; defaults holds null where a parameter has none. */
    record Macro(Pos pos, String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    /** A body rendered in its own variable scope ({@code {% generation %}}, which transformers adds). */
    record Scoped(List<Node> body) implements Node {}

    /** {@code {% with a = x, b = y %}}: the values are evaluated outside, the body runs in a scope with them. */
    record With(List<Target> targets, List<Expr> values, List<Node> body) implements Node {}

    record Break(Pos pos) implements Node {}

    record Continue(Pos pos) implements Node {}

    /** What {@code set} and {@code for} assign to. */
    sealed interface Target {
        record Name(String name) implements Target {}

        /** {@code ns.attr}, allowed only for a {@code namespace()} object. */
        record NamespaceAttr(Pos pos, String namespace, String attr) implements Target {}

        /** {@code a, b} (unpacking). */
        record Unpack(Pos pos, List<Target> targets) implements Target {}
    }
}
