package io.ternion.chat;

import java.util.List;

/**
 * The compile-time checks of the syntax tree: its depth, and the names of its filters and tests.
 *
 * <p>The parser builds chains such as {@code a + b + c} and {@code x | f | g} in a loop, so a chain of
 * ten thousand filters parses without deep recursion but makes a tree ten thousand deep, which the
 * renderer would walk recursively. This walk counts the depth of every node (blocks and expressions
 * together) and fails at {@link Limits#maxNestingDepth()}, before its own recursion or the renderer's
 * could exhaust the Java stack.
 *
 * <p>Jinja2's compiler rejects an unknown filter or test, except in a "soft" frame: the test and
 * branches of an {@code if} statement and all of a conditional expression, where the error is deferred
 * to the moment the filter runs (so a template may guard a filter some Jinja versions lack). A loop
 * body, macro body, {@code with} body or set block starts a hard frame again.
 */
final class FilterTestCheck {
    private final int maxDepth;

    private FilterTestCheck(int maxDepth) {
        this.maxDepth = maxDepth;
    }

    static void run(List<Node> body, int maxDepth) {
        new FilterTestCheck(maxDepth).checkFiltersAndTests(body, false, 0);
    }

    private void checkFiltersAndTests(List<Node> nodes, boolean soft, int depth) {
        int d = depth + 1;
        if (d > maxDepth) throw new TemplateException("nesting depth exceeds " + maxDepth);
        for (Node node : nodes) {
            switch (node) {
                case Node.Text t -> { }
                case Node.Output o -> check(o.expr(), soft, d);
                case Node.If f -> {
                    f.tests().forEach(e -> check(e, true, d));
                    f.bodies().forEach(b -> checkFiltersAndTests(b, true, d));
                    checkFiltersAndTests(f.orElse(), true, d);
                }
                case Node.For f -> {
                    check(f.iterable(), soft, d);
                    check(f.filter(), false, d);
                    checkFiltersAndTests(f.body(), false, d);
                    checkFiltersAndTests(f.orElse(), false, d);
                }
                case Node.Set s -> check(s.value(), soft, d);
                case Node.SetBlock s -> {
                    check(s.filter(), false, d);
                    checkFiltersAndTests(s.body(), false, d);
                }
                case Node.Macro m -> {
                    m.defaults().forEach(e -> check(e, false, d));
                    checkFiltersAndTests(m.body(), false, d);
                }
                case Node.Scoped s -> checkFiltersAndTests(s.body(), false, d);
                case Node.With w -> {
                    w.values().forEach(e -> check(e, soft, d));
                    checkFiltersAndTests(w.body(), false, d);
                }
                case Node.Break b -> { }
                case Node.Continue c -> { }
            }
        }
    }

    private void check(Expr e, boolean soft, int depth) {
        if (e == null) return;
        int level = depth + 1;
        if (level > maxDepth) throw new TemplateException("nesting depth exceeds " + maxDepth, e.pos());
        switch (e) {
            case Expr.Literal l -> { }
            case Expr.Name n -> { }
            case Expr.ListLiteral l -> l.items().forEach(x -> check(x, soft, level));
            case Expr.TupleLiteral t -> t.items().forEach(x -> check(x, soft, level));
            case Expr.DictLiteral d -> {
                d.keys().forEach(x -> check(x, soft, level));
                d.values().forEach(x -> check(x, soft, level));
            }
            case Expr.Attribute a -> check(a.target(), soft, level);
            case Expr.Item it -> {
                check(it.target(), soft, level);
                check(it.key(), soft, level);
            }
            case Expr.Slice s -> {
                check(s.start(), soft, level);
                check(s.stop(), soft, level);
                check(s.step(), soft, level);
            }
            case Expr.Call c -> {
                check(c.callee(), soft, level);
                c.args().forEach(x -> check(x, soft, level));
                c.kwargs().values().forEach(x -> check(x, soft, level));
            }
            case Expr.Filter f -> {
                if (!soft && !Filters.exists(f.name())) throw new TemplateException("no filter named '" + f.name() + "'", f.pos());
                check(f.target(), soft, level);
                f.args().forEach(x -> check(x, soft, level));
                f.kwargs().values().forEach(x -> check(x, soft, level));
            }
            case Expr.Test t -> {
                if (!soft && !Tests.exists(t.name())) throw new TemplateException("no test named '" + t.name() + "'", t.pos());
                check(t.target(), soft, level);
                t.args().forEach(x -> check(x, soft, level));
                t.kwargs().values().forEach(x -> check(x, soft, level));
            }
            case Expr.Not n -> check(n.operand(), soft, level);
            case Expr.Negate n -> check(n.operand(), soft, level);
            case Expr.Binary b -> {
                check(b.left(), soft, level);
                check(b.right(), soft, level);
            }
            case Expr.Logical l -> {
                check(l.left(), soft, level);
                check(l.right(), soft, level);
            }
            case Expr.Concat c -> c.parts().forEach(x -> check(x, soft, level));
            case Expr.Compare c -> {
                check(c.first(), soft, level);
                c.rest().forEach(x -> check(x, soft, level));
            }
            case Expr.Conditional c -> {
                check(c.test(), true, level);
                check(c.then(), true, level);
                check(c.otherwise(), true, level);
            }
        }
    }
}
