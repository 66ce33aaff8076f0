package io.ternion.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Hostile templates (a GGUF carries its own) end quickly with a {@link TemplateException} that names the
 * limit they hit: never a hang, a {@link StackOverflowError} or an {@link OutOfMemoryError}. Without its
 * limit each of these would overflow the stack (deep nesting), run for hours (loops, slow steps) or
 * allocate gigabytes; assertTimeoutPreemptively fails a hang, and assertThrows fails an Error.
 */
class TemplateLimitsTest {
    private static final Duration QUICKLY = Duration.ofSeconds(5);
    private static final Map<String, Object> NO_VARIABLES = Map.of();

    /** Compiling and rendering {@code template} fails with a TemplateException whose message contains {@code limit}. */
    private static TemplateException fails(String template, String limit) {
        return fails(template, Limits.DEFAULT, NO_VARIABLES, limit);
    }

    private static TemplateException fails(String template, Limits limits, Map<String, ?> variables, String limit) {
        TemplateException e = assertTimeoutPreemptively(QUICKLY, () -> assertThrows(TemplateException.class,
                () -> ChatTemplate.compile(template, TemplateOptions.TRANSFORMERS, limits).render(variables)));
        assertTrue(e.getMessage().contains(limit), e.getMessage());
        return e;
    }

    private static String render(String template) {
        return assertTimeoutPreemptively(QUICKLY, () -> ChatTemplate.compile(template).render(NO_VARIABLES));
    }

    @Test
    void theDefaultsAreTheNamedConstants() {
        Limits d = Limits.DEFAULT;
        assertEquals(List.of(100, 500, 100), List.of(d.maxNestingDepth(), d.maxRenderDepth(), d.maxMacroDepth()));
        assertEquals(List.of(100_000L, 64L << 20, 256L << 20), List.of(d.maxLoopIterations(), d.maxOutputLength(), d.maxCreatedSize()));
        assertEquals(List.of(16 << 20, 1_000_000), List.of(d.maxStringLength(), d.maxListLength()));
        assertEquals(Duration.ofSeconds(5), d.maxRenderTime());
        assertEquals(Limits.DEFAULT, ChatTemplate.compile("x").limits());
        assertThrows(IllegalArgumentException.class, () -> d.withMaxRenderTime(Duration.ofSeconds(-1)));
    }

    @Nested
    class Nesting {
        @Test
        void aMacroCallingItself() {
            TemplateException e = fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macro recursion depth exceeds 100");
            assertEquals(1, e.line());
            fails("{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
                    "macro recursion depth exceeds 100");
        }

        @Test
        void aRecursiveMacroWithADeepBodyStopsAtTheRenderDepth() {
            String body = "{% if true %}{% for i in [1] %}{{ " + "(".repeat(40) + "f(n + 1) ~ ''" + ")".repeat(40) + " }}{% endfor %}{% endif %}";
            fails("{% macro f(n) %}" + body + "{% endmacro %}{{ f(0) }}", "render depth exceeds 500");
        }

        @Test
        void tenThousandNestedParentheses() {
            TemplateException e = fails("{{ " + "(".repeat(10_000) + "1" + ")".repeat(10_000) + " }}", "nesting depth exceeds 100");
            assertEquals(1, e.line());
            assertEquals(104, e.column(), "the parenthesis one too deep");
        }

        @Test
        void nestedListsAndDicts() {
            fails("{{ " + "[".repeat(10_000) + "]".repeat(10_000) + " }}", "nesting depth exceeds 100");
            fails("{{ " + "{'a': ".repeat(10_000) + "1" + "}".repeat(10_000) + " }}", "nesting depth exceeds 100");
        }

        @Test
        void nestedIfs() {
            fails("{% if true %}".repeat(10_000) + "x" + "{% endif %}".repeat(10_000), "nesting depth exceeds 100");
            fails("{% for x in [1] %}\n".repeat(10_000) + "x" + "{% endfor %}".repeat(10_000), "nesting depth exceeds 100");
        }

        @Test
        void aChainOfFilters() {
            // parsed in a loop, but it makes a tree 10000 deep, which the renderer would walk recursively
            fails("{{ 'x'" + "|trim".repeat(10_000) + " }}", "nesting depth exceeds 100");
            fails("{% set x %}a{% endset %}{% set y | trim" + "|trim".repeat(10_000) + " %}b{% endset %}", "nesting depth exceeds 100");
        }

        @Test
        void repeatedUnaryOperators() {
            fails("{{ " + "-".repeat(10_000) + "1 }}", "nesting depth exceeds 100");
            fails("{{ " + "- ".repeat(10_000) + "1 }}", "nesting depth exceeds 100");
            fails("{{ " + "not ".repeat(10_000) + "1 }}", "nesting depth exceeds 100");
        }

        @Test
        void longOperatorChains() {
            fails("{{ 1" + " + 1".repeat(10_000) + " }}", "nesting depth exceeds 100");
            fails("{{ x" + ".a".repeat(10_000) + " }}", "nesting depth exceeds 100");
            fails("{{ 1" + " and 1".repeat(10_000) + " }}", "nesting depth exceeds 100");
        }

        @Test
        void valuesNestedAtRenderTime() {
            String deep = "{% set ns = namespace(x=1, y=1) %}{% for i in range(10000) %}{% set ns.x = [ns.x] %}{% set ns.y = [ns.y] %}{% endfor %}";
            fails(deep + "{{ ns.x }}", "value nesting depth exceeds 500");
            fails(deep + "{{ ns.x | tojson }}", "value nesting depth exceeds 500");
            fails(deep + "{{ ns.x == ns.y }}", "value nesting depth exceeds 500");
            fails(deep + "{{ ns.x < ns.y }}", "value nesting depth exceeds 500");
            fails("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", "value nesting depth exceeds 500");
        }

        @Test
        void callerDataNestedTooDeep() {
            List<Object> deep = new ArrayList<>();
            List<Object> inner = deep;
            for (int i = 0; i < 10_000; i++) {
                List<Object> next = new ArrayList<>();
                inner.add(next);
                inner = next;
            }
            fails("{{ x | length }}", Limits.DEFAULT, Map.of("x", deep), "value nesting depth exceeds 500");
        }

        @Test
        void realisticNestingStillRenders() {
            assertEquals("1", render("{{ " + "(".repeat(90) + "1" + ")".repeat(90) + " }}"));
            assertEquals("x", render("{{ ' x '" + "|trim".repeat(90) + " }}"));
            assertEquals("91", render("{{ 1" + " + 1".repeat(90) + " }}"));
            assertEquals("x", render("{% if true %}".repeat(90) + "x" + "{% endif %}".repeat(90)));
            assertEquals("ok", render("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% else %}ok{% endif %}{% endmacro %}{{ f(90) }}"));
        }
    }

    @Nested
    class Loops {
        @Test
        void nestedRangeLoops() {
            TemplateException e = fails("{% for i in range(100000) %}\n{% for j in range(100000) %}{% endfor %}{% endfor %}",
                    "loop iterations exceed 100000");
            assertEquals(2, e.line());
        }

        @Test
        void theCountIsPerRenderAndAFilteredLoopCountsEachItemOnce() {
            // 60000 tested and 30000 kept, then 3 * 10000 + 3: counting the kept ones twice would make 120003
            ChatTemplate t = ChatTemplate.compile("{% for i in range(60000) if i % 2 %}{% endfor %}"
                    + "{% for k in range(3) %}{% for i in range(10000) %}{% endfor %}{% endfor %}done");
            assertTimeoutPreemptively(QUICKLY, () -> {
                assertEquals("done", t.render(NO_VARIABLES));
                assertEquals("done", t.render(NO_VARIABLES), "90003 iterations each time, under 100000 per render");
            });
        }

        @Test
        void aHugeRangeIsRefusedBeforeItIsMade() {
            fails("{{ range(1000000000000) | length }}", "MAX_RANGE (100000)");
        }
    }

    @Nested
    class Sizes {
        @Test
        void stringDoublingInALoop() {
            fails("{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                    "string length exceeds 16777216 characters");
            fails("{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                    "string length exceeds 16777216 characters");
        }

        @Test
        void repetitionIsCheckedBeforeAllocating() {
            fails("{{ 'a' * 1000000000000 }}", "string length exceeds 16777216 characters");
            fails("{{ 1000000000000 * 'ab' }}", "string length exceeds 16777216 characters");
            fails("{{ [1, 2] * 1000000000000 }}", "list length exceeds 1000000 items");
            fails("{{ (1, 2) * 9223372036854775807 }}", "list length exceeds 1000000 items");
            assertEquals("|0", render("{{ '' * 1000000000000 }}|{{ ([] * 1000000000000) | length }}"), "nothing to repeat");
        }

        @Test
        void listConcatenationInALoop() {
            fails("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                    "list length exceeds 1000000 items");
        }

        @Test
        void joinOnHugeValues() {
            fails("{{ range(100000) | map('string') | join('x' * 1000) }}", "string length exceeds 16777216 characters");
            fails("{{ ('x' * 1000).join(range(100000) | map('string') | list) }}", "string length exceeds 16777216 characters");
        }

        @Test
        void replaceOnHugeValues() {
            String hundred = "'" + "b".repeat(100) + "'";
            fails("{{ ('a' * 1000000) | replace('a', " + hundred + ") }}", "string length exceeds 16777216 characters");
            fails("{{ ('a' * 1000000).replace('a', " + hundred + ") }}", "string length exceeds 16777216 characters");
            fails("{{ ('a' * 1000000).replace('', " + hundred + ") }}", "string length exceeds 16777216 characters");
        }

        @Test
        void aHugeDictKey() {
            fails("{{ {('k' * 2000000000): 1} }}", "string length exceeds 16777216 characters");
        }

        @Test
        void splittingIntoTooManyPieces() {
            fails("{{ ('a' * 16000000).split('a') | length }}", "list length exceeds 1000000 items");
            fails("{% for c in 'a' * 2000000 %}{% endfor %}", "list length exceeds 1000000 items");
        }

        @Test
        void hugeIndents() {
            fails("{{ [[1, [2]]] | tojson(indent=1000000000) }}", "string length exceeds 16777216 characters");
            fails("{{ ('a\\n' * 100000) | indent(1000) }}", "string length exceeds 16777216 characters");
        }

        @Test
        void printingAHugeList() {
            fails("{{ ['a' * 1000] * 1000000 }}", "string length exceeds 16777216 characters");
        }

        @Test
        void theOutput() {
            fails("{% set s = 'a' * 10000000 %}{% for i in range(100) %}{{ s }}{% endfor %}", "output length exceeds 67108864 characters");
        }

        @Test
        void aSetBlockOrMacroIsAString() {
            fails("{% set s = 'a' * 10000000 %}{% set x %}{{ s }}{{ s }}{% endset %}", "string length exceeds 16777216 characters");
            fails("{% set s = 'a' * 10000000 %}{% macro m() %}{{ s }}{{ s }}{% endmacro %}{{ m() | length }}",
                    "string length exceeds 16777216 characters");
        }

        @Test
        void manyLargeValuesKeptAlive() {
            // 1000 distinct upper-cased copies of 10 million characters would need 10 GB
            fails("{% set s = 'a' * 10000000 %}{{ ([s] * 1000) | map('upper') | list | length }}",
                    "values created exceed 268435456 characters and items in total");
        }
    }

    @Nested
    class Time {
        private final Limits fast = Limits.DEFAULT.withMaxRenderTime(Duration.ofMillis(300));

        @Test
        void aLoopOfSlowSteps() {
            // 100000 counts over 8 million characters: many minutes without the limit, within the loop limit
            fails("{% set s = 'ab' * 4000000 %}{% for i in range(100000) %}{{ s.count('ab') > 0 }}{% endfor %}",
                    fast, NO_VARIABLES, "render time exceeds 300 ms");
        }

        @Test
        void oneSlowComparison() {
            // a million by a million items, each list small enough for every size limit
            fails("{% set a = [[0] * 1000000] * 1000000 %}{% set b = [[0] * 1000000] * 1000000 %}{{ a == b }}",
                    fast, NO_VARIABLES, "render time exceeds 300 ms");
        }

        @Test
        void oneSlowSubstringSearch() {
            // a long needle that almost matches everywhere: quadratic in a naive search
            fails("{% set s = 'a' * 4000000 %}{{ (s ~ 'b') in (s ~ s) }}", fast, NO_VARIABLES, "render time exceeds 300 ms");
            fails("{% set s = 'a' * 4000000 %}{{ (s ~ s).count(s ~ 'b') }}", fast, NO_VARIABLES, "render time exceeds 300 ms");
        }
    }
}
