package io.ternion.chat;

import java.util.List;

/**
 * The compile-time check of filter and test names.
 *
 * <p>Jinja2's compiler rejects an unknown filter or test, except in a "soft" frame: the test and
 * branches of an {@code if} statement and all of a conditional expression, where the error is deferred
 * to the moment the filter runs (so a template may guard a filter some Jinja versions lack). A loop
 * body, macro body, {@code with} body or set block starts a hard frame again.
 */
final class FilterTestCheck {
    private FilterTestCheck() {}

    static void run(List<Node> body) {
        checkFiltersAndTests(body, false);
    }

    private static void checkFiltersAndTests(List<Node> nodes, boolean soft) {
        for (Node node : nodes) {
            switch (node) {
                case Node.Text t -> { }
                case Node.Output o -> check(o.expr(), soft);
                case Node.If f -> {
                    f.tests().forEach(e -> check(e, true));
                    f.bodies().forEach(b -> checkFiltersAndTests(b, true));
                    checkFiltersAndTests(f.orElse(), true);
                }
                case Node.For f -> {
                    check(f.iterable(), soft);
                    check(f.filter(), false);
                    checkFiltersAndTests(f.body(), false);
                    checkFiltersAndTests(f.orElse(), false);
                }
                case Node.Set s -> check(s.value(), soft);
                case Node.SetBlock s -> {
                    check(s.filter(), false);
                    checkFiltersAndTests(s.body(), false);
                }
                case Node.Macro m -> {
                    m.defaults().forEach(e -> check(e, false));
                    checkFiltersAndTests(m.body(), false);
                }
                case Node.Scoped s -> checkFiltersAndTests(s.body(), false);
                case Node.With w -> {
                    w.values().forEach(e -> check(e, soft));
                    checkFiltersAndTests(w.body(), false);
                }
                case Node.Break b -> { }
                case Node.Continue c -> { }
            }
        }
    }

    private static void check(Expr e, boolean soft) {
        switch (e) {
            case null -> { }
            case Expr.Literal l -> { }
            case Expr.Name n -> { }
            case Expr.ListLiteral l -> l.items().forEach(x -> check(x, soft));
            case Expr.TupleLiteral t -> t.items().forEach(x -> check(x, soft));
            case Expr.DictLiteral d -> {
                d.keys().forEach(x -> check(x, soft));
                d.values().forEach(x -> check(x, soft));
            }
            case Expr.Attribute a -> check(a.target(), soft);
            case Expr.Item it -> {
                check(it.target(), soft);
                check(it.key(), soft);
            }
            case Expr.Slice s -> {
                check(s.start(), soft);
                check(s.stop(), soft);
                check(s.step(), soft);
            }
            case Expr.Call c -> {
                check(c.callee(), soft);
                c.args().forEach(x -> check(x, soft));
                c.kwargs().values().forEach(x -> check(x, soft));
            }
            case Expr.Filter f -> {
                if (!soft && !Filters.exists(f.name())) throw new TemplateException("no filter named '" + f.name() + "'", f.pos());
                check(f.target(), soft);
                f.args().forEach(x -> check(x, soft));
                f.kwargs().values().forEach(x -> check(x, soft));
            }
            case Expr.Test t -> {
                if (!soft && !Tests.exists(t.name())) throw new TemplateException("no test named '" + t.name() + "'", t.pos());
                check(t.target(), soft);
                t.args().forEach(x -> check(x, soft));
                t.kwargs().values().forEach(x -> check(x, soft));
            }
            case Expr.Not n -> check(n.operand(), soft);
            case Expr.Negate n -> check(n.operand(), soft);
            case Expr.Binary b -> {
                check(b.left(), soft);
                check(b.right(), soft);
            }
            case Expr.Logical l -> {
                check(l.left(), soft);
                check(l.right(), soft);
            }
            case Expr.Concat c -> c.parts().forEach(x -> check(x, soft));
            case Expr.Compare c -> {
                check(c.first(), soft);
                c.rest().forEach(x -> check(x, soft));
            }
            case Expr.Conditional c -> {
                check(c.test(), true);
                check(c.then(), true);
                check(c.otherwise(), true);
            }
        }
    }
}
