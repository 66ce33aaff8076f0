package io.ternion.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Walks the syntax tree and writes the output: the evaluator. Statements run in a {@link Scope};
 * expressions evaluate to values of the model described in {@link Values}. A failure is reported at
 * the innermost expression that raised it.
 *
 * <p>The walk is recursive, and counts how deep it is (statements, expressions, filters and macro
 * calls together) against {@link Limits#maxRenderDepth()}, macro calls against
 * {@link Limits#maxMacroDepth()}, loop iterations against {@link Limits#maxLoopIterations()}, and what it
 * writes against {@link Limits#maxOutputLength()} (a set block's or macro's text, which becomes a string,
 * against {@link Limits#maxStringLength()}); its {@link Guard} polls the wall time.
 */
final class Renderer {
    /** How a statement list ended: normally, or by {@code break} / {@code continue} for the enclosing loop. */
    private enum Flow { NORMAL, BREAK, CONTINUE }

    private final Guard guard;
    private final Limits limits;
    private int depth;
    private int macroDepth;
    private long loopIterations;

    private Renderer(Guard guard) {
        this.guard = guard;
        this.limits = guard.limits;
    }

    /** Renders a template body; {@code context} holds template values (see {@link Values#fromJava}). */
    static String render(List<Node> body, Map<String, Object> context, Guard guard) {
        Scope globals = new Scope(null);
        Globals.all().forEach(globals::set);
        Scope root = globals.child();
        context.forEach(root::set);
        Out out = new Out(guard.limits.maxOutputLength(), true);
        new Renderer(guard).execute(body, root, out);
        return out.toString();
    }

    /**
     * Text being written: the render's output, or the body of a set block or macro (which becomes a
     * string value). Fails before it would grow past its limit.
     */
    private static final class Out {
        private final StringBuilder sb = new StringBuilder();
        private final long max;
        private final boolean isOutput;

        Out(long max, boolean isOutput) {
            this.max = max;
            this.isOutput = isOutput;
        }

        void append(String s) {
            if (sb.length() + (long) s.length() > max) {
                throw isOutput ? new TemplateException("output length exceeds " + max + " characters") : Guard.stringTooLong(max);
            }
            sb.append(s);
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }

    /** A text buffer for a value: a set block's body or a macro's output. */
    private Out capture() {
        return new Out(limits.maxStringLength(), false);
    }

    /** One level deeper into the tree; paired with {@code depth--} in a finally block. */
    private void enter() {
        if (++depth > limits.maxRenderDepth()) {
            depth--;
            throw Guard.tooDeep("render depth", limits.maxRenderDepth());
        }
        guard.tick();
    }

    /** One more iteration of some loop in this render. */
    private void iteration(Pos at) {
        if (++loopIterations > limits.maxLoopIterations()) {
            throw new TemplateException("loop iterations exceed " + limits.maxLoopIterations(), at);
        }
        guard.checkTime();
    }

    // ---- statements ----

    private Flow execute(List<Node> nodes, Scope scope, Out out) {
        enter();
        try {
            return executeAll(nodes, scope, out);
        } finally {
            depth--;
        }
    }

    private Flow executeAll(List<Node> nodes, Scope scope, Out out) {
        for (Node node : nodes) {
            Flow flow = switch (node) {
                case Node.Text t -> {
                    out.append(t.text());
                    yield Flow.NORMAL;
                }
                case Node.Output o -> {
                    Object value = eval(o.expr(), scope);
                    try {
                        out.append(PyText.str(value));
                    } catch (TemplateException e) { // printing a list too long or too deep, or the output too long
                        throw e.at(o.expr().pos());
                    }
                    yield Flow.NORMAL;
                }
                case Node.If f -> executeIf(f, scope, out);
                case Node.For f -> executeFor(f, scope, out);
                case Node.Set s -> {
                    assign(s.target(), eval(s.value(), scope), scope);
                    yield Flow.NORMAL;
                }
                case Node.SetBlock s -> {
                    Out captured = capture();
                    execute(s.body(), scope.child(), captured);
                    Object value = Guard.made(captured.toString());
                    if (s.filter() != null) value = filter(s.filter(), scope, value);
                    assign(s.target(), value, scope);
                    yield Flow.NORMAL;
                }
                case Node.Macro m -> {
                    scope.set(m.name(), new Macro(m, scope));
                    yield Flow.NORMAL;
                }
                case Node.Scoped s -> execute(s.body(), scope.child(), out);
                case Node.With w -> {
                    Scope inner = scope.child();
                    for (int i = 0; i < w.targets().size(); i++) assign(w.targets().get(i), eval(w.values().get(i), scope), inner);
                    yield execute(w.body(), inner, out);
                }
                case Node.Break b -> Flow.BREAK;
                case Node.Continue c -> Flow.CONTINUE;
            };
            if (flow != Flow.NORMAL) return flow;
        }
        return Flow.NORMAL;
    }

    /** An if statement has no scope of its own: a set inside it is visible after it. */
    private Flow executeIf(Node.If f, Scope scope, Out out) {
        for (int i = 0; i < f.tests().size(); i++) {
            if (Values.truthy(eval(f.tests().get(i), scope))) return execute(f.bodies().get(i), scope, out);
        }
        return execute(f.orElse(), scope, out);
    }

    /** Each iteration runs in a fresh child scope holding the loop target and {@code loop}. */
    private Flow executeFor(Node.For f, Scope scope, Out out) {
        List<Object> items;
        try {
            items = Values.iterate(eval(f.iterable(), scope));
        } catch (TemplateException e) {
            throw e.at(f.iterable().pos());
        }
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                iteration(f.pos());
                Scope s = scope.child();
                assign(f.target(), item, s);
                if (Values.truthy(eval(f.filter(), s))) kept.add(item);
            }
            items = kept;
        }
        if (items.isEmpty()) {
            execute(f.orElse(), scope.child(), out);
            return Flow.NORMAL;
        }
        for (int i = 0; i < items.size(); i++) {
            if (f.filter() == null) iteration(f.pos()); // a filtered loop counted its items as it tested them
            Scope s = scope.child();
            s.set("loop", new LoopContext(items, i));
            assign(f.target(), items.get(i), s);
            if (execute(f.body(), s, out) == Flow.BREAK) break;
        }
        return Flow.NORMAL;
    }

    private void assign(Node.Target target, Object value, Scope scope) {
        switch (target) {
            case Node.Target.Name n -> scope.set(n.name(), value);
            case Node.Target.NamespaceAttr a -> {
                Object ns = scope.lookup(a.namespace());
                if (!(ns instanceof Namespace namespace)) {
                    throw new TemplateException("cannot assign attribute on non-namespace object '" + a.namespace() + "'", a.pos());
                }
                namespace.attributes.put(a.attr(), value);
            }
            case Node.Target.Unpack u -> {
                List<Object> items;
                try {
                    items = Values.iterate(value);
                } catch (TemplateException e) {
                    throw e.at(u.pos());
                }
                int expected = u.targets().size();
                if (items.size() != expected) {
                    String why = items.size() > expected
                            ? "too many values to unpack (expected " + expected + ")"
                            : "not enough values to unpack (expected " + expected + ", got " + items.size() + ")";
                    throw new TemplateException("ValueError: " + why, u.pos());
                }
                for (int i = 0; i < expected; i++) assign(u.targets().get(i), items.get(i), scope);
            }
        }
    }

    // ---- expressions ----

    private Object eval(Expr e, Scope scope) {
        try {
            enter();
            try {
                return evaluate(e, scope);
            } finally {
                depth--;
            }
        } catch (TemplateException ex) {
            throw ex.at(e.pos());
        }
    }

    private Object evaluate(Expr e, Scope scope) {
        return switch (e) {
            case Expr.Literal l -> l.value();
            case Expr.Name n -> scope.lookup(n.name());
            case Expr.ListLiteral l -> Guard.made(evalAll(l.items(), scope));
            case Expr.TupleLiteral t -> Guard.made(new PyTuple(evalAll(t.items(), scope)));
            case Expr.DictLiteral d -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    Object key = eval(d.keys().get(i), scope);
                    if (key instanceof List<?> || key instanceof Map<?, ?>) throw Values.typeError("unhashable type: '" + Values.typeName(key) + "'");
                    Object value = eval(d.values().get(i), scope);
                    if (Values.isNumber(key)) { // Python: 1, 1.0 and True are the same key; the first spelling stays
                        for (Object existing : map.keySet()) if (Values.isNumber(existing) && Values.equal(existing, key)) key = existing;
                    }
                    map.put(key, value);
                }
                yield Guard.made(map);
            }
            case Expr.Attribute a -> Values.getAttribute(eval(a.target(), scope), a.name());
            case Expr.Item it -> {
                Object target = eval(it.target(), scope);
                if (it.key() instanceof Expr.Slice s) {
                    yield Guard.made(Values.slice(target, evalOrNull(s.start(), scope), evalOrNull(s.stop(), scope), evalOrNull(s.step(), scope)));
                }
                yield Values.getItem(target, eval(it.key(), scope));
            }
            case Expr.Slice s -> throw new TemplateException("a slice is only valid inside brackets");
            case Expr.Call c -> {
                Object callee = eval(c.callee(), scope);
                List<Object> args = evalAll(c.args(), scope);
                Map<String, Object> kwargs = evalAll(c.kwargs(), scope);
                if (callee instanceof TemplateCallable f) yield Guard.made(f.call(args, kwargs));
                if (callee instanceof Undefined u) throw u.error();
                throw Values.typeError("'" + Values.typeName(callee) + "' object is not callable");
            }
            case Expr.Filter f -> filter(f, scope, null);
            case Expr.Test t -> {
                Object value = eval(t.target(), scope);
                yield Tests.apply(t.name(), value, evalAll(t.args(), scope), evalAll(t.kwargs(), scope));
            }
            case Expr.Not n -> !Values.truthy(eval(n.operand(), scope));
            case Expr.Negate n -> Values.negate(eval(n.operand(), scope), n.minus());
            case Expr.Binary b -> Guard.made(Values.binary(b.op(), eval(b.left(), scope), eval(b.right(), scope)));
            case Expr.Logical l -> {
                Object left = eval(l.left(), scope);
                yield Values.truthy(left) == l.and() ? eval(l.right(), scope) : left;
            }
            case Expr.Concat c -> {
                StringBuilder sb = new StringBuilder();
                for (Expr part : c.parts()) {
                    String text = PyText.str(eval(part, scope));
                    guard.string(sb.length() + (long) text.length());
                    sb.append(text);
                }
                yield Guard.made(sb.toString());
            }
            case Expr.Compare c -> {
                Object left = eval(c.first(), scope);
                for (int i = 0; i < c.ops().size(); i++) {
                    Object right = eval(c.rest().get(i), scope);
                    if (!Values.compare(c.ops().get(i), left, right)) yield false;
                    left = right;
                }
                yield true;
            }
            case Expr.Conditional c -> {
                if (Values.truthy(eval(c.test(), scope))) yield eval(c.then(), scope);
                if (c.otherwise() != null) yield eval(c.otherwise(), scope);
                yield Undefined.because("the inline if-expression on " + c.pos() + " evaluated to false and no else section was defined.");
            }
        };
    }

    /** A filter; the innermost target of a set block's chain is null and stands for the captured body. */
    private Object filter(Expr.Filter f, Scope scope, Object captured) {
        try {
            enter();
            try {
                Object value = switch (f.target()) {
                    case null -> captured;
                    case Expr.Filter inner -> filter(inner, scope, captured);
                    default -> eval(f.target(), scope);
                };
                return Filters.apply(f.name(), value, evalAll(f.args(), scope), evalAll(f.kwargs(), scope));
            } finally {
                depth--;
            }
        } catch (TemplateException ex) {
            throw ex.at(f.pos());
        }
    }

    private Object evalOrNull(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) out.add(eval(e, scope));
        return out;
    }

    private Map<String, Object> evalAll(Map<String, Expr> exprs, Scope scope) {
        if (exprs.isEmpty()) return Map.of();
        Map<String, Object> out = new LinkedHashMap<>();
        exprs.forEach((k, e) -> out.put(k, eval(e, scope)));
        return out;
    }

    /** A macro: called like a function, it renders its body in a scope of the definition site and returns the text. */
    private final class Macro implements TemplateCallable {
        private final Node.Macro definition;
        private final Scope closure;

        Macro(Node.Macro definition, Scope closure) {
            this.definition = definition;
            this.closure = closure;
        }

        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            if (macroDepth >= limits.maxMacroDepth()) {
                throw new TemplateException("macro recursion depth exceeds " + limits.maxMacroDepth() + " (in macro '" + definition.name() + "')");
            }
            guard.checkTime();
            macroDepth++;
            try {
                return invoke(args, kwargs);
            } finally {
                macroDepth--;
            }
        }

        private Object invoke(List<Object> args, Map<String, Object> kwargs) {
            List<String> params = definition.params();
            if (args.size() > params.size()) {
                throw Values.typeError("macro '" + definition.name() + "' takes not more than " + params.size() + " argument(s)");
            }
            Map<String, Object> named = new LinkedHashMap<>(kwargs);
            Scope scope = closure.child();
            for (int i = 0; i < params.size(); i++) {
                String p = params.get(i);
                Object value;
                if (i < args.size()) value = args.get(i);
                else if (named.containsKey(p)) value = named.remove(p);
                else if (definition.defaults().get(i) != null) value = eval(definition.defaults().get(i), scope);
                else value = Undefined.because("parameter '" + p + "' was not provided");
                scope.set(p, value);
            }
            if (!named.isEmpty()) {
                throw Values.typeError("macro '" + definition.name() + "' takes no keyword argument '" + named.keySet().iterator().next() + "'");
            }
            Out out = capture();
            execute(definition.body(), scope, out);
            return out.toString();
        }

        @Override
        public String toString() {
            return "<Macro '" + definition.name() + "'>";
        }
    }
}
