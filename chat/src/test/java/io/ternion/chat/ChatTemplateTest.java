package io.ternion.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Chat templates rendered as transformers' {@code apply_chat_template} renders them. The expected
 * strings for the real Llama-3 and Qwen3 templates were derived by reading the templates (the
 * derivation is in the comments) and cross-checked against Python's jinja2 3.1.6 with transformers'
 * environment settings.
 */
class ChatTemplateTest {
    private static final String BOS = "<|begin_of_text|>";

    private static final List<Message> CONVERSATION = List.of(
            Message.system("You are terse."),
            Message.user("Hi there"),
            Message.assistant("Hello."),
            Message.user("What is 2+2?"));

    /** The {@code chat_template} of a tokenizer_config.json under the shared test data (skips when absent, fails under CI). */
    private static String templateFrom(String configFile) throws IOException {
        var config = new ObjectMapper().readTree(TestData.require("tokenizers/" + configFile).toFile());
        return config.get("chat_template").asText();
    }

    private static String render(String template) {
        return ChatTemplate.compile(template).render(Map.of());
    }

    private static String render(String template, Map<String, ?> context) {
        return ChatTemplate.compile(template).render(context);
    }

    private static String renderPlainJinja(String template) {
        return ChatTemplate.compile(template, TemplateOptions.JINJA2_DEFAULTS).render(Map.of());
    }

    // ------------------------------------------------------------------ real templates

    @Nested
    class Llama3 {
        /*
         * The template builds, per message, '<|start_header_id|>' + role + '<|end_header_id|>\n\n'
         * + (content | trim) + '<|eot_id|>' (the filter binds tighter than +), prefixes bos_token on
         * loop.index0 == 0, and always ends with the assistant header (it ignores add_generation_prompt).
         */
        @Test
        void multiTurnWithSystemMessage() throws IOException {
            ChatTemplate t = ChatTemplate.compile(templateFrom("llama3-tokenizer_config.json"))
                    .withSpecialTokens(BOS, "<|end_of_text|>");
            String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n";
            assertEquals(expected, t.render(CONVERSATION, true, Map.of()));
            assertEquals(expected, t.render(CONVERSATION, false, Map.of()));
        }

        @Test
        void contentIsTrimmed() throws IOException {
            ChatTemplate t = ChatTemplate.compile(templateFrom("llama3-tokenizer_config.json")).withSpecialTokens(BOS, null);
            assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    t.render(List.of(Message.user(" \n Hi \n\n")), true, Map.of()));
        }

        @Test
        void missingBosTokenIsAnErrorAsInJinja() throws IOException {
            ChatTemplate t = ChatTemplate.compile(templateFrom("llama3-tokenizer_config.json"));
            TemplateException e = assertThrows(TemplateException.class, () -> t.render(CONVERSATION, true, Map.of()));
            assertEquals("'bos_token' is undefined", e.reason());
        }
    }

    @Nested
    class Qwen3 {
        private ChatTemplate qwen() throws IOException {
            return ChatTemplate.compile(templateFrom("qwen3-tokenizer_config.json")).withSpecialTokens(null, "<|im_end|>");
        }

        /*
         * No tools: the first message, a system one, becomes '<|im_start|>system\n...<|im_end|>\n' and is
         * skipped in the main loop (loop.first). The last user message is index 3, so the assistant turn at
         * index 2 is not after it and prints '<|im_start|>assistant\n' + content without a think block.
         * The generation prompt is '<|im_start|>assistant\n'; enable_thinking is undefined, so nothing more.
         */
        private static final String EXPECTED = "<|im_start|>system\nYou are terse.<|im_end|>\n"
                + "<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n";

        @Test
        void thinkingSwitchAbsent() throws IOException {
            assertEquals(EXPECTED, qwen().render(CONVERSATION, true, Map.of()));
        }

        @Test
        void thinkingEnabledExplicitlyIsTheSame() throws IOException {
            assertEquals(EXPECTED, qwen().render(CONVERSATION, true, Map.of("enable_thinking", true)));
        }

        /* 'enable_thinking is defined and enable_thinking is false' adds an empty think block. */
        @Test
        void thinkingDisabled() throws IOException {
            assertEquals(EXPECTED + "<think>\n\n</think>\n\n", qwen().render(CONVERSATION, true, Map.of("enable_thinking", false)));
        }

        @Test
        void noGenerationPrompt() throws IOException {
            String expected = EXPECTED.substring(0, EXPECTED.length() - "<|im_start|>assistant\n".length());
            assertEquals(expected, qwen().render(CONVERSATION, false, Map.of("enable_thinking", false)));
        }

        /*
         * An assistant turn before the last user message: '</think>' is in its content, so content becomes
         * content.split('</think>')[-1].lstrip('\n') = 'Hello.' and the reasoning is dropped, because
         * loop.index0 (2) is not greater than ns.last_query_index (3).
         */
        @Test
        void historyReasoningIsStripped() throws IOException {
            List<Message> conversation = List.of(
                    Message.system("You are terse."),
                    Message.user("Hi there"),
                    Message.assistant("<think>\nThe user greets me.\n</think>\n\nHello."),
                    Message.user("What is 2+2?"));
            assertEquals(EXPECTED, qwen().render(conversation, true, Map.of()));
        }

        /*
         * The assistant turn after the last user message (and the last one) keeps its reasoning:
         * '<|im_start|>assistant\n<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + content.
         */
        @Test
        void latestReasoningIsKept() throws IOException {
            List<Message> conversation = List.of(
                    Message.user("Hi there"),
                    Message.assistant("<think>\nGreeting.\n</think>\n\nHello."));
            assertEquals("<|im_start|>user\nHi there<|im_end|>\n"
                            + "<|im_start|>assistant\n<think>\nGreeting.\n</think>\n\nHello.<|im_end|>\n",
                    qwen().render(conversation, false, Map.of()));
        }

        /*
         * With tools: a system block listing each tool as tojson (", " and ": " separators), the assistant's
         * tool call as <tool_call> JSON (its empty content gets no newline before it), and consecutive tool
         * results wrapped in one '<|im_start|>user' turn of <tool_response> blocks.
         */
        @Test
        void toolsAndToolCalls() throws IOException {
            Map<String, Object> tool = Map.of("type", "function", "function", ordered(
                    "name", "get_weather",
                    "description", "Get the weather",
                    "parameters", ordered(
                            "type", "object",
                            "properties", Map.of("city", Map.of("type", "string")),
                            "required", List.of("city"))));
            List<Map<String, Object>> messages = List.of(
                    ordered("role", "user", "content", "What's the weather in Paris?"),
                    ordered("role", "assistant", "content", "", "tool_calls", List.of(ordered(
                            "type", "function",
                            "function", ordered("name", "get_weather", "arguments", Map.of("city", "Paris"))))),
                    ordered("role", "tool", "content", "{\"temperature\": 20}"),
                    ordered("role", "tool", "content", "sunny"));
            Map<String, Object> context = new LinkedHashMap<>();
            context.put("messages", messages);
            context.put("tools", List.of(ordered("type", "function", "function", tool.get("function"))));
            context.put("add_generation_prompt", true);
            String expected = "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                    + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                    + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather\", "
                    + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n"
                    + "</tools>\n\nFor each function call, return a json object with function name and arguments within "
                    + "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
                    + "</tool_call><|im_end|>\n"
                    + "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
                    + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                    + "<|im_start|>user\n<tool_response>\n{\"temperature\": 20}\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
                    + "<|im_start|>assistant\n";
            assertEquals(expected, qwen().render(context));
        }

        @Test
        void emptyConversationFailsLikeJinja() throws IOException {
            ChatTemplate template = qwen(); // outside assertThrows: a skip for missing test data must stay a skip
            TemplateException e = assertThrows(TemplateException.class, () -> template.render(List.of(), true, Map.of()));
            assertEquals("list object has no element 0", e.reason());
            assertTrue(e.line() > 0, e.getMessage());
        }
    }

    @Nested
    class BitNet {
        private final ChatTemplate bitnet = ChatTemplate.compile(ChatTemplate.BITNET_B158).withSpecialTokens(BOS, "<|eot_id|>");

        /* Per message: bos_token (first only) + role|capitalize + ': ' + content|trim + '<|eot_id|>'. */
        @Test
        void multiTurnWithSystemMessage() {
            assertEquals("<|begin_of_text|>System: You are terse.<|eot_id|>User: Hi there<|eot_id|>"
                            + "Assistant: Hello.<|eot_id|>User: What is 2+2?<|eot_id|>Assistant: ",
                    bitnet.render(CONVERSATION, true, Map.of()));
        }

        @Test
        void singleTurnMatchesTheDocumentedFormat() {
            assertEquals("<|begin_of_text|>User: Hey, are you conscious?<|eot_id|>Assistant: ",
                    bitnet.render(List.of(Message.user("  Hey, are you conscious?\n")), true, Map.of()));
            assertEquals("<|begin_of_text|>User: Hi<|eot_id|>", bitnet.render(List.of(Message.user("Hi")), false, Map.of()));
        }
    }

    // ------------------------------------------------------------------ expression language

    @Nested
    class Expressions {
        @Test
        void arithmeticPrecedence() {
            assertEquals("7|9|5|64|4", render("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 10 - 2 - 3 }}|{{ 2 ** 3 ** 2 }}|{{ -2 ** 2 }}"));
            assertEquals("3|-4|1|2|3.5|2.0|0.3333333333333333", render("{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 / 2 }}|{{ 4 / 2 }}|{{ 1 / 3 }}"));
        }

        @Test
        void concatenationBindsBetweenAdditionAndMultiplication() {
            assertEquals("n=6", render("{{ 'n=' ~ 2 * 3 }}"));
            assertEquals("a1NoneTrue", render("{{ 'a' ~ 1 ~ none ~ true ~ undefined_name }}"));
            TemplateException e = assertThrows(TemplateException.class, () -> render("{{ 1 + 2 ~ 3 }}"));
            assertTrue(e.reason().contains("unsupported operand type(s) for +: 'int' and 'str'"), e.getMessage());
        }

        @Test
        void filtersBindTighterThanOperators() {
            assertEquals("ab|6", render("{{ 'a' + ' b '|trim }}|{{ [3, 1, 2]|length * 2 }}"));
            assertEquals("3", render("{{ -3|abs }}"));
        }

        @Test
        void logicAndComparisons() {
            assertEquals("True|True|False|True|False", render("{{ not 1 == 2 }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 == 1.0 }}|{{ 'b' < 'a' }}"));
            assertEquals("yes|dflt||None", render("{{ true and 'yes' }}|{{ 0 or 'dflt' }}|{{ '' and 1 }}|{{ none or none }}"));
            assertEquals("True|True|True|True|True", render("{{ 'b' in 'abc' }}|{{ 1 in [1, 2] }}|{{ 'k' in {'k': 1} }}|{{ 'z' not in 'abc' }}|{{ 3 not in [1] }}"));
        }

        @Test
        void conditionalExpression() {
            assertEquals("3||b", render("{{ 1 if none else 2 if 0 else 3 }}|{{ 'x' if false }}|{{ 'a' if x is defined else 'b' }}"));
        }

        @Test
        void literals() {
            assertEquals("a\tb\n'\"\\|it's|abc", render("{{ 'a\\tb\\n\\'\\\"\\\\' }}|{{ \"it's\" }}|{{ 'a' 'b' \"c\" }}"));
            assertEquals("[1, 'a', None, True, 1.5, 1e-05, 1e+16, {'k': 'v'}]|(1, 2)|(1,)",
                    render("{{ [1, 'a', none, True, 1.5, 1e-5, 1e16, {'k': 'v'}] }}|{{ (1, 2) }}|{{ (1,) }}"));
            assertEquals("1000|31|0.30000000000000004|-0.0", render("{{ 1_000 }}|{{ 0x1F }}|{{ 0.1 + 0.2 }}|{{ -0.0 }}"));
        }

        @Test
        void attributeAndItemAccessOnMaps() {
            Map<String, Object> ctx = Map.of("message", Map.of("role", "user", "content", "hi"));
            assertEquals("user|user|hi|", render("{{ message.role }}|{{ message['role'] }}|{{ message.content }}|{{ message.missing }}", ctx));
        }

        @Test
        void slicingAndNegativeIndexes() {
            assertEquals("olleh|llo|hel|oll|hlo|o", render("{{ 'hello'[::-1] }}|{{ 'hello'[-3:] }}|{{ 'hello'[:-2] }}|{{ 'hello'[4:1:-1] }}|{{ 'hello'[::2] }}|{{ 'hello'[-1] }}"));
            assertEquals("[2, 3, 4]|[3, 2, 1]|3|[]|", render("{{ [1, 2, 3, 4, 5][1:4] }}|{{ [1, 2, 3][::-1] }}|{{ [1, 2, 3][-1] }}|{{ [1, 2][5:] }}|{{ [1, 2][7] }}"));
            assertEquals("1|b", render("{{ '😀ab'|length - 2 }}|{{ '😀ab'[-1] }}")); // Python indexes code points
        }

        @Test
        void stringMethods() {
            assertEquals("True|True|True|False", render("{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith('bc') }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.startswith('b') }}"));
            assertEquals("['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']",
                    render("{{ 'a,b,,c'.split(',') }}|{{ '  a \\n b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}"));
            assertEquals("[x|hi|hi\n|  hi]", render("[{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}|{{ '  hi  '.rstrip() }}]"));
            assertEquals("ABC|abc|a+b-c|Hello World|They'Re", render("{{ 'aBc'.upper() }}|{{ 'aBc'.lower() }}|{{ 'a-b-c'.replace('-', '+', 1) }}|{{ 'hello world'.title() }}|{{ \"they're\".title() }}"));
        }

        @Test
        void dictMethods() {
            assertEquals("1|None|2|['a']|[('a', 1)]", render("{{ d.get('a') }}|{{ d.get('b') }}|{{ d.get('b', 2) }}|{{ d.keys()|list }}|{{ d.items()|list }}", Map.of("d", Map.of("a", 1))));
        }

        @Test
        void undefinedBehavesLikeJinjaDefaultUndefined() {
            assertEquals("[]|False|True|0|d|[]", render("[{{ nope }}]|{{ nope is defined }}|{{ nope is undefined }}|{{ nope|length }}|{{ nope|default('d') }}|{{ nope|list }}"));
            assertEquals("empty", render("{% for x in nope %}{{ x }}{% else %}empty{% endfor %}"));
            assertEquals("", render("{{ {'a': 1}.b }}{{ [1][5] }}{{ none.role }}"));
            TemplateException e = assertThrows(TemplateException.class, () -> render("{{ nope.role }}"));
            assertEquals("'nope' is undefined", e.reason());
            e = assertThrows(TemplateException.class, () -> render("{{ {'a': 1}.b.c }}"));
            assertEquals("'dict object' has no attribute 'b'", e.reason());
            assertThrows(TemplateException.class, () -> render("{{ nope + 1 }}"));
        }
    }

    // ------------------------------------------------------------------ filters and tests

    @Nested
    class FiltersAndTests {
        @Test
        void textFilters() {
            assertEquals("x|a|Hello world|hello|HI|User|They're Bill's-Friend",
                    render("{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'hello WORLD'|capitalize }}|{{ 'HeLLo'|lower }}|{{ 'hi'|upper }}|{{ 'user'|capitalize }}|{{ \"they're bill's-friend\"|title }}"));
            assertEquals("a-b-|a-bX|1|None|[1]", render("{{ 'aXbX'|replace('X', '-') }}|{{ 'aXbX'|replace('X', '-', 1) }}|{{ 1|string }}|{{ none|string }}|{{ [1]|safe }}"));
        }

        @Test
        void sequenceFilters() {
            assertEquals("3|3|1|3|1|c", render("{{ [3, 1, 2]|length }}|{{ 'abc'|count }}|{{ {'a': 1}|length }}|{{ [3, 1]|first }}|{{ [3, 1]|last }}|{{ 'abc'|last }}"));
            assertEquals("1, 2|1Nonea|['a', 'b']|[('a', 1)]|['k']", render("{{ [1, 2]|join(', ') }}|{{ [1, none, 'a']|join }}|{{ 'ab'|list }}|{{ {'a': 1}|items|list }}|{{ {'k': 2}|list }}"));
            assertEquals("a-b|['u']|[{'r': 's'}]", render("{{ [{'n': 'a'}, {'n': 'b'}]|map(attribute='n')|join('-') }}|{{ [{'r': 'u'}, {'r': 's'}]|rejectattr('r', 'equalto', 's')|map(attribute='r')|list }}|{{ [{'r': 'u'}, {'r': 's'}]|selectattr('r', 'eq', 's')|list }}"));
        }

        @Test
        void numberFilters() {
            assertEquals("42|4|0|7|3|1", render("{{ '42'|int }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(7) }}|{{ 3.9|int }}|{{ true|int }}"));
            assertEquals("d|None|d|v", render("{{ nope|default('d') }}|{{ none|default('d') }}|{{ ''|default('d', true) }}|{{ 'v'|d('x') }}"));
        }

        /* transformers' tojson: json.dumps with ", " / ": " separators and ensure_ascii=False. */
        @Test
        void tojsonIsPythonJsonDumps() {
            assertEquals("{\"a\": \"é<&>\", \"b\": [1, 2.5, null, true], \"c\": \"\\\"\\\\\\n\"}",
                    render("{{ {'a': 'é<&>', 'b': [1, 2.5, none, true], 'c': '\"\\\\\\n'}|tojson }}"));
            assertEquals("{\n  \"a\": 1,\n  \"b\": [\n    1\n  ]\n}", render("{{ {'a': 1, 'b': [1]}|tojson(indent=2) }}"));
            assertEquals("{\"a\": 2, \"b\": 1}|\"\\u00e9\"", render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ 'é'|tojson(ensure_ascii=true) }}"));
        }

        @Test
        void tests() {
            assertEquals("True|True|True|True|True|False|True|True",
                    render("{{ none is none }}|{{ 1 is number }}|{{ 'a' is string }}|{{ {} is mapping }}|{{ [] is iterable }}|{{ 1 is iterable }}|{{ false is false }}|{{ true is true }}"));
            assertEquals("True|False|True|True|True|True", render("{{ 1 is equalto 1 }}|{{ 1 is eq 2 }}|{{ 3 is odd }}|{{ 9 is divisibleby 3 }}|{{ 1 is not none }}|{{ 0 is not false }}"));
        }
    }

    // ------------------------------------------------------------------ statements

    @Nested
    class Statements {
        @Test
        void loopVariables() {
            assertEquals("1/0/3/True/False/3;2/1/2/False/False/3;3/2/1/False/True/3;",
                    render("{% for x in 'abc' %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}"));
            assertEquals("1:2,2:4", render("{% for i in [1, 2, 3, 4] if i is even %}{{ loop.index }}:{{ i }}{{ ',' if not loop.last }}{% endfor %}"));
            assertEquals("x=1;y=2;", render("{% for k, v in {'x': 1, 'y': 2}.items() %}{{ k }}={{ v }};{% endfor %}"));
            assertEquals("01346", render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 7 %}{% break %}{% endif %}{% if i != 5 %}{{ i }}{% endif %}{% endfor %}"));
        }

        /* A set inside a loop body is local to the iteration; a namespace carries values out. */
        @Test
        void scopingAndNamespace() {
            assertEquals("12|12|1", render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 1 %}{{ x }}|{% endfor %}{{ x }}"));
            assertEquals("7x", render("{% set ns = namespace(a=1, b='x') %}{% for i in [1, 2, 3] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}"));
            assertEquals("5", render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"));
            assertEquals("12|[ INNER ]", render("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t | upper %} inner {% endset %}[{{ t }}]"));
        }

        @Test
        void macros() {
            assertEquals("Hi, Bob!|Yo, Al!", render("{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }}|{{ greet('Al', greeting='Yo') }}"));
        }

        @Test
        void strftimeForStrftimeNow() {
            assertEquals("04 Jul 2024|Thursday 09:05:03 AM|4", Globals.strftime("%d %b %Y|%A %H:%M:%S %p|%-d", LocalDateTime.of(2024, 7, 4, 9, 5, 3)));
        }

        @Test
        void raiseExceptionIsATemplateException() {
            TemplateException e = assertThrows(TemplateException.class,
                    () -> render("{% if messages|length == 0 %}{{ raise_exception('No messages!') }}{% endif %}", Map.of("messages", List.of())));
            assertEquals("No messages!", e.reason());
            assertEquals(1, e.line());
        }
    }

    // ------------------------------------------------------------------ whitespace

    @Nested
    class Whitespace {
        @Test
        void minusModifiersStripAllWhitespaceIncludingNewlines() {
            assertEquals("abc", renderPlainJinja("{{- 'a' -}}  \n {{ 'b' }} \n{{- 'c' }}"));
            assertEquals("ab \nc", renderPlainJinja("a  \n {%- if true -%} \n b {%- endif %} \nc"));
            assertEquals("a,b", renderPlainJinja("a  \n  {#- comment -#}  \n  ,b"));
            assertEquals("[1][2]", renderPlainJinja("{% for i in [1, 2] -%}\n  [{{ i }}]\n{%- endfor %}"));
        }

        /* transformers: trim_blocks drops the newline after %}, lstrip_blocks the indentation before {%. */
        @Test
        void trimBlocksAndLstripBlocks() {
            String template = "<list>\n  {% for i in [1, 2] %}\n    <item>{{ i }}</item>\n  {% endfor %}\n</list>";
            assertEquals("<list>\n    <item>1</item>\n    <item>2</item>\n</list>", render(template));
            assertEquals("<list>\n  \n    <item>1</item>\n  \n    <item>2</item>\n  \n</list>", renderPlainJinja(template));
        }

        @Test
        void lstripBlocksLeavesVariablesAndInlineTagsAlone() {
            assertEquals("  a\nx b", render("  {{ 'a' }}\n{{ 'x' }} {% if true %}b{% endif %}"));
            assertEquals("  # comment kept out\nx", render("  # comment kept out\n  {# c #}\nx"));
        }

        @Test
        void plusModifiersDisableTrimmingForOneTag() {
            assertEquals("x\nyz", render("x\n\t {% if true %}y{% endif %}\nz"));
            assertEquals("x\n\t y\nz", render("x\n\t {%+ if true %}y{% endif +%}\nz"));
            assertEquals("x\ny\nz", render("x\n\t {% if true %}y{% endif +%}\nz"));
        }

        @Test
        void oneTrailingNewlineIsDroppedAndLineEndingsNormalized() {
            assertEquals("a\nb", render("a\r\nb\n"));
            assertEquals("a\n", render("a\n\n"));
            assertEquals("a\n", ChatTemplate.compile("a\n", new TemplateOptions(true, true, true)).render(Map.of()));
        }

        @Test
        void rawBlocks() {
            assertEquals("{{ not rendered }}", render("{% raw %}{{ not rendered }}{% endraw %}"));
        }
    }

    // ------------------------------------------------------------------ errors

    @Nested
    class Errors {
        @Test
        void unclosedBlockReportsTheOpeningTag() {
            TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("a\n{% for m in messages %}\n{{ m }}\n"));
            assertEquals(2, e.line(), e.getMessage());
            assertTrue(e.reason().contains("endfor"), e.getMessage());
        }

        @Test
        void unclosedTag() {
            TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("line one\nline two {{ x "));
            assertEquals(2, e.line(), e.getMessage());
            assertEquals(10, e.column(), e.getMessage());
            e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("{# never closed"));
            assertEquals(1, e.line(), e.getMessage());
        }

        @Test
        void unknownFilterAndTestAreCompileErrors() {
            TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("ok\n{{ x | frobnicate }}"));
            assertEquals("no filter named 'frobnicate'", e.reason());
            assertEquals(2, e.line());
            assertEquals(8, e.column());
            assertEquals("no filter named 'frobnicate' (line 2, column 8)", e.getMessage());
            e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("{{ x is frobnicated }}"));
            assertEquals("no test named 'frobnicated'", e.reason());
        }

        /* Jinja2 defers the check inside an if: the filter only fails when it runs. */
        @Test
        void unknownFilterInsideIfFailsOnlyWhenEvaluated() {
            ChatTemplate t = ChatTemplate.compile("{% if flag %}{{ x | frobnicate }}{% endif %}ok");
            assertEquals("ok", t.render(Map.of("flag", false)));
            TemplateException e = assertThrows(TemplateException.class, () -> t.render(Map.of("flag", true)));
            assertEquals(1, e.line());
        }

        @Test
        void syntaxErrors() {
            assertThrows(TemplateException.class, () -> ChatTemplate.compile("{% endif %}"));
            assertThrows(TemplateException.class, () -> ChatTemplate.compile("{% frob %}"));
            assertThrows(TemplateException.class, () -> ChatTemplate.compile("{{ (1 }}"));
            assertThrows(TemplateException.class, () -> ChatTemplate.compile("{{ 'abc }}"));
            TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.compile("{% if x %}\n{% else %}\n{% elif y %}{% endif %}"));
            assertEquals(3, e.line(), e.getMessage());
        }
    }

    /** A map that keeps insertion order, so tojson output is deterministic. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }
}
