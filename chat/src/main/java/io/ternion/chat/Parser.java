package io.ternion.chat;

import io.ternion.chat.Token.Type;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the syntax tree from tokens. The grammar, its precedence levels and its quirks are Jinja2's
 * ({@code jinja2/parser.py}), method for method, from loosest to tightest binding:
 * <pre>
 *   conditional   a if b else c        (the else part is optional)
 *   or, and, not
 *   comparison    == != &lt; &lt;= &gt; &gt;= in, not in   (chains like a &lt; b &lt; c)
 *   + -
 *   ~             string concatenation
 *   * / // %
 *   **            left-associative in Jinja2, unlike Python
 *   unary - +
 *   filters and tests   x|f(...), x is t(...)   bind tighter than any operator: a + b|trim is a + (b|trim)
 *   postfix       x.attr  x[key]  x[a:b:c]  x(args)
 * </pre>
 * After parsing, {@link FilterTestCheck} rejects unknown filters and tests, as Jinja2's compiler does.
 *
 * <p>The parser is recursive, so hostile nesting ({@code ((((...}, {@code - - - x}, tags in tags) is
 * counted and fails at {@link Limits#maxNestingDepth()} long before the Java stack runs out; chains the
 * parser builds in a loop ({@code a + b + c}, {@code x | f | g}) are measured on the tree afterwards.
 */
final class Parser {
    private static final Set<String> COMPARE_OPERATORS = Set.of("==", "!=", "<", "<=", ">", ">=");
    /** Jinja2 statements that are valid there but not implemented here (chat templates do not use them). */
    private static final Set<String> UNSUPPORTED_TAGS =
            Set.of("block", "extends", "include", "import", "from", "autoescape", "filter", "call", "print", "do");

    private final List<Token> tokens;
    private int i;
    /** Opening tokens of the blocks being parsed, innermost first, for error messages. */
    private final Deque<Token> openBlocks = new ArrayDeque<>();
    private int loopDepth;
    private final int maxNesting;
    /** Blocks and expressions being parsed, one inside the other. */
    private int nesting;

    private Parser(List<Token> tokens, int maxNesting) {
        this.tokens = tokens;
        this.maxNesting = maxNesting;
    }

    static List<Node> parse(List<Token> tokens, Limits limits) {
        Parser parser = new Parser(tokens, limits.maxNestingDepth());
        List<Node> body = parser.subparse(null);
        FilterTestCheck.run(body, limits.maxNestingDepth());
        return body;
    }

    /** One level deeper, at token {@code at}; every call is paired with {@link #leave()} by try/finally. */
    private void enter(Token at) {
        if (++nesting > maxNesting) throw fail("nesting depth exceeds " + maxNesting, at);
    }

    private void leave() {
        nesting--;
    }

    // ---- token stream ----

    private Token cur() {
        return tokens.get(i);
    }

    private Token peek(int k) {
        return tokens.get(Math.min(i + k, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(i);
        if (t.type() != Type.EOF) i++;
        return t;
    }

    private boolean skipName(String name) {
        if (!cur().isName(name)) return false;
        i++;
        return true;
    }

    private boolean skipOperator(String op) {
        if (!cur().isOperator(op)) return false;
        i++;
        return true;
    }

    private Token expect(Type type, String what) {
        if (cur().type() != type) throw fail("expected " + what + ", got " + cur().describe(), cur());
        return next();
    }

    private void expectOperator(String op) {
        if (!cur().isOperator(op)) throw fail("expected '" + op + "', got " + cur().describe(), cur());
        i++;
    }

    private static TemplateException fail(String message, Token at) {
        return new TemplateException(message, at.pos());
    }

    // ---- statements ----

    /** Nodes up to the end of the template, or up to a block tag named in {@code endTags} (left current). */
    private List<Node> subparse(Set<String> endTags) {
        List<Node> body = new ArrayList<>();
        while (true) {
            Token t = cur();
            switch (t.type()) {
                case DATA -> {
                    body.add(new Node.Text((String) t.value()));
                    i++;
                }
                case VARIABLE_BEGIN -> {
                    i++;
                    body.add(new Node.Output(parseTuple(true, null, false)));
                    expect(Type.VARIABLE_END, "'}}'");
                }
                case BLOCK_BEGIN -> {
                    i++;
                    if (endTags != null && cur().type() == Type.NAME && endTags.contains(cur().text())) return body;
                    body.add(parseStatement());
                    expect(Type.BLOCK_END, "'%}'");
                }
                case EOF -> {
                    if (endTags != null) throw unclosed(endTags);
                    return body;
                }
                default -> throw fail("unexpected " + t.describe(), t);
            }
        }
    }

    private TemplateException unclosed(Set<String> endTags) {
        Token open = openBlocks.peek();
        String expected = String.join("' or '", endTags.stream().sorted().toList());
        String tag = open == null ? "" : " to close the '" + open.text() + "' tag opened here";
        return fail("unexpected end of template: expected '" + expected + "'" + tag, open == null ? cur() : open);
    }

    /** The body of a block statement: from after its tag to one of {@code endTags} (left current). */
    private List<Node> block(Token opening, String... endTags) {
        skipOperator(":"); // Jinja2 accepts a Python-style colon before %}
        expect(Type.BLOCK_END, "'%}'");
        enter(opening);
        openBlocks.push(opening);
        try {
            return subparse(Set.of(endTags));
        } finally {
            openBlocks.pop();
            leave();
        }
    }

    private Node parseStatement() {
        Token t = cur();
        if (t.type() != Type.NAME) throw fail("tag name expected, got " + t.describe(), t);
        return switch (t.text()) {
            case "if" -> parseIf();
            case "for" -> parseFor();
            case "set" -> parseSet();
            case "macro" -> parseMacro();
            case "break", "continue" -> {
                next();
                if (loopDepth == 0) throw fail("'" + t.text() + "' outside of a loop", t);
                yield t.text().equals("break") ? new Node.Break(t.pos()) : new Node.Continue(t.pos());
            }
            case "with" -> parseWith();
            case "generation" -> {
                next();
                List<Node> body = block(t, "endgeneration");
                next();
                yield new Node.Scoped(body);
            }
            default -> throw unknownTag(t);
        };
    }

    private TemplateException unknownTag(Token t) {
        String name = t.text();
        if (UNSUPPORTED_TAGS.contains(name)) {
            return fail("the '" + name + "' tag is not supported (only the Jinja2 subset chat templates use is)", t);
        }
        Token open = openBlocks.peek();
        boolean misplaced = name.startsWith("end") || name.equals("else") || name.equals("elif");
        if (misplaced) {
            String context = open == null ? "" : "; the innermost open block is '" + open.text() + "' at " + open.pos();
            return fail("unexpected '" + name + "' tag" + context, t);
        }
        return fail("unknown tag '" + name + "'", t);
    }

    private Node parseIf() {
        Token opening = next();
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> orElse = List.of();
        while (true) {
            tests.add(parseTuple(false, null, false));
            bodies.add(block(opening, "elif", "else", "endif"));
            Token end = next();
            if (end.isName("elif")) continue;
            if (end.isName("else")) {
                orElse = block(opening, "endif");
                next();
            }
            return new Node.If(tests, bodies, orElse);
        }
    }

    private Node parseFor() {
        Token opening = next();
        Node.Target target = parseTarget(false, Set.of("in"));
        if (!skipName("in")) throw fail("expected 'in', got " + cur().describe(), cur());
        Expr iterable = parseTuple(false, Set.of("recursive"), false);
        Expr filter = skipName("if") ? parseExpression(true) : null;
        if (cur().isName("recursive")) throw fail("recursive loops are not supported", cur());
        loopDepth++;
        List<Node> body;
        try {
            body = block(opening, "endfor", "else");
        } finally {
            loopDepth--;
        }
        List<Node> orElse = List.of();
        if (next().isName("else")) {
            orElse = block(opening, "endfor");
            next();
        }
        return new Node.For(opening.pos(), target, iterable, filter, body, orElse);
    }

    private Node parseSet() {
        Token opening = next();
        Node.Target target = parseTarget(true, null);
        if (skipOperator("=")) return new Node.Set(opening.pos(), target, parseTuple(true, null, false));
        Expr.Filter filter = cur().isOperator("|") ? (Expr.Filter) parseFilter(null) : null;
        List<Node> body = block(opening, "endset");
        next();
        return new Node.SetBlock(opening.pos(), target, filter, body);
    }

    private Node parseWith() {
        Token opening = next();
        List<Node.Target> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().is(Type.BLOCK_END)) {
            if (!targets.isEmpty()) expectOperator(",");
            targets.add(parseTarget(false, null));
            expectOperator("=");
            values.add(parseExpression(true));
        }
        List<Node> body = block(opening, "endwith");
        next();
        return new Node.With(targets, values, body);
    }

    private Node parseMacro() {
        Token opening = next();
        String name = expect(Type.NAME, "macro name").text();
        expectOperator("(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        boolean seenDefault = false;
        while (!cur().isOperator(")")) {
            if (!params.isEmpty()) expectOperator(",");
            params.add(expect(Type.NAME, "parameter name").text());
            if (skipOperator("=")) {
                defaults.add(parseExpression(true));
                seenDefault = true;
            } else {
                if (seenDefault) throw fail("non-default argument follows default argument", cur());
                defaults.add(null);
            }
        }
        expectOperator(")");
        int outerLoops = loopDepth;
        loopDepth = 0; // a loop around the definition is not a loop around the body
        List<Node> body;
        try {
            body = block(opening, "endmacro");
        } finally {
            loopDepth = outerLoops;
        }
        next();
        return new Node.Macro(opening.pos(), name, params, defaults, body);
    }

    /** An assignment target: a name, {@code ns.attr} (for set), or several of them separated by commas. */
    private Node.Target parseTarget(boolean withNamespace, Set<String> extraEnd) {
        Pos start = cur().pos();
        List<Node.Target> items = new ArrayList<>();
        boolean tuple = false;
        while (true) {
            if (!items.isEmpty()) expectOperator(",");
            if (isTupleEnd(extraEnd)) break;
            items.add(parseSimpleTarget(withNamespace));
            if (cur().isOperator(",")) tuple = true;
            else break;
        }
        if (tuple) return new Node.Target.Unpack(start, items);
        if (items.isEmpty()) throw fail("expected an assignment target, got " + cur().describe(), cur());
        return items.get(0);
    }

    private Node.Target parseSimpleTarget(boolean withNamespace) {
        Token t = cur();
        if (t.type() != Type.NAME || isConstantName(t.text())) throw fail("can't assign to " + t.describe(), t);
        i++;
        if (withNamespace && skipOperator(".")) {
            return new Node.Target.NamespaceAttr(t.pos(), t.text(), expect(Type.NAME, "attribute name").text());
        }
        return new Node.Target.Name(t.text());
    }

    private static boolean isConstantName(String name) {
        return switch (name) {
            case "true", "false", "True", "False", "none", "None" -> true;
            default -> false;
        };
    }

    private boolean isTupleEnd(Set<String> extraEnd) {
        Token t = cur();
        if (t.is(Type.VARIABLE_END) || t.is(Type.BLOCK_END) || t.isOperator(")")) return true;
        return extraEnd != null && t.type() == Type.NAME && extraEnd.contains(t.text());
    }

    // ---- expressions ----

    /** Expressions separated by commas make a tuple ({@code {{ a, b }}}, {@code {% set x = 1, 2 %}}). */
    private Expr parseTuple(boolean withConditional, Set<String> extraEnd, boolean explicitParentheses) {
        Pos start = cur().pos();
        List<Expr> items = new ArrayList<>();
        boolean tuple = false;
        while (true) {
            if (!items.isEmpty()) expectOperator(",");
            if (isTupleEnd(extraEnd)) break;
            items.add(parseExpression(withConditional));
            if (cur().isOperator(",")) tuple = true;
            else break;
        }
        if (!tuple) {
            if (!items.isEmpty()) return items.get(0);
            if (!explicitParentheses) throw fail("expected an expression, got " + cur().describe(), cur());
        }
        return new Expr.TupleLiteral(start, items);
    }

    private Expr parseExpression(boolean withConditional) {
        return withConditional ? parseConditional() : parseOr();
    }

    private Expr parseConditional() {
        enter(cur());
        try {
            Pos start = cur().pos();
            Expr expr = parseOr();
            while (skipName("if")) {
                Expr test = parseOr();
                Expr otherwise = skipName("else") ? parseConditional() : null;
                expr = new Expr.Conditional(start, test, expr, otherwise);
                start = cur().pos();
            }
            return expr;
        } finally {
            leave();
        }
    }

    private Expr parseOr() {
        Pos start = cur().pos();
        Expr left = parseAnd();
        while (skipName("or")) left = new Expr.Logical(start, false, left, parseAnd());
        return left;
    }

    private Expr parseAnd() {
        Pos start = cur().pos();
        Expr left = parseNot();
        while (skipName("and")) left = new Expr.Logical(start, true, left, parseNot());
        return left;
    }

    private Expr parseNot() {
        Token t = cur();
        if (t.isName("not")) {
            i++;
            enter(t);
            try {
                return new Expr.Not(t.pos(), parseNot());
            } finally {
                leave();
            }
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        Pos start = cur().pos();
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = cur();
            if (t.type() == Type.OPERATOR && COMPARE_OPERATORS.contains(t.text())) {
                i++;
                ops.add(t.text());
            } else if (t.isName("in")) {
                i++;
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                i += 2;
                ops.add("notin");
            } else {
                break;
            }
            rest.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(start, first, ops, rest);
    }

    private Expr parseMath1() {
        Pos start = cur().pos();
        Expr left = parseConcat();
        while (cur().isOperator("+") || cur().isOperator("-")) {
            String op = next().text();
            left = new Expr.Binary(start, op, left, parseConcat());
        }
        return left;
    }

    private Expr parseConcat() {
        Pos start = cur().pos();
        List<Expr> parts = new ArrayList<>();
        parts.add(parseMath2());
        while (skipOperator("~")) parts.add(parseMath2());
        return parts.size() == 1 ? parts.get(0) : new Expr.Concat(start, parts);
    }

    private Expr parseMath2() {
        Pos start = cur().pos();
        Expr left = parsePow();
        while (cur().isOperator("*") || cur().isOperator("/") || cur().isOperator("//") || cur().isOperator("%")) {
            String op = next().text();
            left = new Expr.Binary(start, op, left, parsePow());
        }
        return left;
    }

    private Expr parsePow() {
        Pos start = cur().pos();
        Expr left = parseUnary(true);
        while (skipOperator("**")) left = new Expr.Binary(start, "**", left, parseUnary(true));
        return left;
    }

    /** Jinja2 applies the filters after a unary minus to the negated value: {@code -x|abs} is {@code abs(-x)}. */
    private Expr parseUnary(boolean withFilter) {
        Token t = cur();
        Expr node;
        if (t.isOperator("-") || t.isOperator("+")) {
            i++;
            enter(t);
            try {
                node = new Expr.Negate(t.pos(), t.isOperator("-"), parseUnary(false));
            } finally {
                leave();
            }
        } else {
            node = parsePrimary();
        }
        node = parsePostfix(node);
        return withFilter ? parseFilterExpr(node) : node;
    }

    private Expr parsePrimary() {
        Token t = cur();
        switch (t.type()) {
            case NAME -> {
                i++;
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Literal(t.pos(), Boolean.TRUE);
                    case "false", "False" -> new Expr.Literal(t.pos(), Boolean.FALSE);
                    case "none", "None" -> new Expr.Literal(t.pos(), null);
                    default -> new Expr.Name(t.pos(), t.text());
                };
            }
            case STRING -> {
                StringBuilder s = new StringBuilder();
                while (cur().is(Type.STRING)) s.append((String) next().value()); // 'a' "b" is 'ab', as in Python
                return new Expr.Literal(t.pos(), s.toString());
            }
            case INTEGER, FLOAT -> {
                i++;
                return new Expr.Literal(t.pos(), t.value());
            }
            case OPERATOR -> {
                if (t.isOperator("(")) {
                    i++;
                    Expr inner = parseTuple(true, null, true);
                    expectOperator(")");
                    return inner;
                }
                if (t.isOperator("[")) return parseList();
                if (t.isOperator("{")) return parseDict();
            }
            default -> { }
        }
        throw fail("unexpected " + t.describe(), t);
    }

    private Expr parseList() {
        Token open = next();
        List<Expr> items = new ArrayList<>();
        while (!cur().isOperator("]")) {
            if (!items.isEmpty()) expectOperator(",");
            if (cur().isOperator("]")) break;
            items.add(parseExpression(true));
        }
        expectOperator("]");
        return new Expr.ListLiteral(open.pos(), items);
    }

    private Expr parseDict() {
        Token open = next();
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().isOperator("}")) {
            if (!keys.isEmpty()) expectOperator(",");
            if (cur().isOperator("}")) break;
            keys.add(parseExpression(true));
            expectOperator(":");
            values.add(parseExpression(true));
        }
        expectOperator("}");
        return new Expr.DictLiteral(open.pos(), keys, values);
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            Token t = cur();
            if (t.isOperator(".") || t.isOperator("[")) node = parseSubscript(node);
            else if (t.isOperator("(")) node = parseCall(node);
            else return node;
        }
    }

    private Expr parseFilterExpr(Expr node) {
        while (true) {
            Token t = cur();
            if (t.isOperator("|")) node = parseFilter(node);
            else if (t.isName("is")) node = parseTest(node);
            else if (t.isOperator("(")) node = parseCall(node);
            else return node;
        }
    }

    private Expr parseSubscript(Expr node) {
        Token t = next();
        if (t.isOperator(".")) {
            Token attr = next();
            if (attr.is(Type.NAME)) return new Expr.Attribute(t.pos(), node, attr.text());
            if (attr.is(Type.INTEGER)) return new Expr.Item(t.pos(), node, new Expr.Literal(attr.pos(), attr.value()));
            throw fail("expected name or number after '.', got " + attr.describe(), attr);
        }
        List<Expr> keys = new ArrayList<>();
        while (!cur().isOperator("]")) {
            if (!keys.isEmpty()) expectOperator(",");
            keys.add(parseSubscribed());
        }
        expectOperator("]");
        Expr key = keys.size() == 1 ? keys.get(0) : new Expr.TupleLiteral(t.pos(), keys);
        return new Expr.Item(t.pos(), node, key);
    }

    /** A subscript: an expression, or a slice with any of its three parts left out. */
    private Expr parseSubscribed() {
        Pos start = cur().pos();
        Expr first = null;
        if (!skipOperator(":")) {
            Expr node = parseExpression(true);
            if (!skipOperator(":")) return node;
            first = node;
        }
        Expr stop = null;
        Expr step = null;
        if (!cur().isOperator(":") && !cur().isOperator("]") && !cur().isOperator(",")) stop = parseExpression(true);
        if (skipOperator(":") && !cur().isOperator("]") && !cur().isOperator(",")) step = parseExpression(true);
        return new Expr.Slice(start, first, stop, step);
    }

    private record CallArgs(List<Expr> args, Map<String, Expr> kwargs) {}

    private CallArgs parseCallArgs() {
        expectOperator("(");
        List<Expr> args = new ArrayList<>();
        Map<String, Expr> kwargs = new LinkedHashMap<>();
        boolean requireComma = false;
        while (!cur().isOperator(")")) {
            if (requireComma) {
                expectOperator(",");
                if (cur().isOperator(")")) break; // trailing comma
            }
            if (cur().isOperator("*") || cur().isOperator("**")) {
                throw fail("*args and **kwargs in calls are not supported", cur());
            }
            if (cur().is(Type.NAME) && peek(1).isOperator("=")) {
                Token key = next();
                i++;
                if (kwargs.put(key.text(), parseExpression(true)) != null) {
                    throw fail("keyword argument repeated: " + key.text(), key);
                }
            } else {
                if (!kwargs.isEmpty()) throw fail("positional argument follows keyword argument", cur());
                args.add(parseExpression(true));
            }
            requireComma = true;
        }
        expectOperator(")");
        return new CallArgs(List.copyOf(args), kwargs);
    }

    private Expr parseCall(Expr callee) {
        Pos pos = cur().pos();
        CallArgs a = parseCallArgs();
        return new Expr.Call(pos, callee, a.args(), a.kwargs());
    }

    /** One or more {@code |name(args)}; with a null target this is the filter chain of a set block. */
    private Expr parseFilter(Expr node) {
        while (skipOperator("|")) {
            Token nameToken = expect(Type.NAME, "filter name");
            String name = dottedName(nameToken);
            CallArgs a = cur().isOperator("(") ? parseCallArgs() : new CallArgs(List.of(), Map.of());
            node = new Expr.Filter(nameToken.pos(), node, name, a.args(), a.kwargs());
        }
        return node;
    }

    private String dottedName(Token first) {
        StringBuilder name = new StringBuilder(first.text());
        while (skipOperator(".")) name.append('.').append(expect(Type.NAME, "name").text());
        return name.toString();
    }

    /** {@code is [not] name}, with arguments in parentheses or one bare argument ({@code x is divisibleby 3}). */
    private Expr parseTest(Expr node) {
        Token is = next();
        boolean negated = skipName("not");
        Token nameToken = expect(Type.NAME, "test name");
        String name = dottedName(nameToken);
        CallArgs a;
        Token t = cur();
        boolean bareArgument = switch (t.type()) {
            case NAME -> !t.isName("else") && !t.isName("or") && !t.isName("and");
            case STRING, INTEGER, FLOAT -> true;
            case OPERATOR -> t.isOperator("[") || t.isOperator("{");
            default -> false;
        };
        if (t.isOperator("(")) {
            a = parseCallArgs();
        } else if (bareArgument) {
            if (t.isName("is")) throw fail("you cannot chain multiple tests with 'is'", t);
            a = new CallArgs(List.of(parsePostfix(parsePrimary())), Map.of());
        } else {
            a = new CallArgs(List.of(), Map.of());
        }
        Expr test = new Expr.Test(nameToken.pos(), node, name, a.args(), a.kwargs());
        return negated ? new Expr.Not(is.pos(), test) : test;
    }
}
