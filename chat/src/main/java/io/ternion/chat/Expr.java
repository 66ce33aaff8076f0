package io.ternion.chat;

import java.util.List;
import java.util.Map;

/**
 * Expression syntax tree. Every node keeps its source position so that a runtime failure (an undefined
 * value used, a type error) can say where it happened.
 */
sealed interface Expr {
    Pos pos();

    /** A string, integer, float, boolean or none literal. */
    record Literal(Pos pos, Object value) implements Expr {}

    /** A variable reference. */
    record Name(Pos pos, String name) implements Expr {}

    record ListLiteral(Pos pos, List<Expr> items) implements Expr {}

    record TupleLiteral(Pos pos, List<Expr> items) implements Expr {}

    record DictLiteral(Pos pos, List<Expr> keys, List<Expr> values) implements Expr {}

    /** {@code target.name}: Python attribute first, then item (Jinja2's {@code getattr}). */
    record Attribute(Pos pos, Expr target, String name) implements Expr {}

    /** {@code target[key]}: item first, then attribute (Jinja2's {@code getitem}); key may be a {@link Slice}. */
    record Item(Pos pos, Expr target, Expr key) implements Expr {}

    /** {@code start:stop:step} inside brackets; each part may be null. */
    record Slice(Pos pos, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(Pos pos, Expr callee, List<Expr> args, Map<String, Expr> kwargs) implements Expr {}

    /**
     * {@code target | name(args)}. The target is null for the filters of a {@code {% set %}} block, which
     * apply to the captured body.
     */
    record Filter(Pos pos, Expr target, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {}

    /** {@code target is name(args)}; {@code is not} is a {@link Not} around it. */
    record Test(Pos pos, Expr target, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {}

    record Not(Pos pos, Expr operand) implements Expr {}

    /** Unary {@code -} or {@code +}. */
    record Negate(Pos pos, boolean minus, Expr operand) implements Expr {}

    /** Arithmetic {@code + - * / // % **}. */
    record Binary(Pos pos, String op, Expr left, Expr right) implements Expr {}

    /** {@code and} / {@code or}, short-circuiting and yielding an operand, as in Python. */
    record Logical(Pos pos, boolean and, Expr left, Expr right) implements Expr {}

    /** {@code a ~ b ~ c}: the string forms joined. */
    record Concat(Pos pos, List<Expr> parts) implements Expr {}

    /** A comparison chain {@code a < b <= c}; ops are {@code == != < <= > >= in notin}. */
    record Compare(Pos pos, Expr first, List<String> ops, List<Expr> rest) implements Expr {}

    /** {@code then if test else otherwise}; otherwise may be null (an undefined value then). */
    record Conditional(Pos pos, Expr test, Expr then, Expr otherwise) implements Expr {}
}
