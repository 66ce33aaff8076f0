package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.server.ReplyParser.Call;
import io.ternion.server.ReplyParser.Content;
import io.ternion.server.ReplyParser.Part;
import io.ternion.server.ReplyParser.Reasoning;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Generated text, in pieces as tokens bring it, split into content, reasoning and tool calls: the
 * same parts whether the text comes whole, in the given pieces or a character at a time, and no
 * marker (or part of one) ever shown as text.
 */
class ReplyParserTest {
    /** What a parser shows for these pieces, adjacent parts of one kind merged (ids blanked: they are random). */
    private static List<Part> parse(boolean thinks, boolean startsInReasoning, ToolSyntax tools, List<String> pieces) {
        ReplyParser parser = new ReplyParser(thinks, startsInReasoning, tools);
        List<Part> out = new ArrayList<>();
        for (String piece : pieces) {
            out.addAll(parser.accept(piece));
        }
        out.addAll(parser.finish());
        assertEquals(out.stream().anyMatch(p -> p instanceof Call), parser.calledTools());
        return merged(out);
    }

    private static List<Part> merged(List<Part> parts) {
        List<Part> out = new ArrayList<>();
        for (Part p : parts) {
            Part last = out.isEmpty() ? null : out.getLast();
            if (p instanceof Content c && last instanceof Content l) out.set(out.size() - 1, new Content(l.text() + c.text()));
            else if (p instanceof Reasoning r && last instanceof Reasoning l) out.set(out.size() - 1, new Reasoning(l.text() + r.text()));
            else if (p instanceof Call c) out.add(new Call(c.index(), "", c.name(), c.arguments()));
            else out.add(p);
        }
        return out;
    }

    /** The parts for the given pieces, checked to be the same for the text whole and a character at a time. */
    private static List<Part> parts(boolean thinks, ToolSyntax tools, String... pieces) {
        List<Part> given = parse(thinks, false, tools, List.of(pieces));
        String whole = String.join("", pieces);
        assertEquals(given, parse(thinks, false, tools, List.of(whole)), "the text whole");
        List<String> chars = new ArrayList<>();
        whole.codePoints().forEach(cp -> chars.add(Character.toString(cp)));
        assertEquals(given, parse(thinks, false, tools, chars), "a character at a time");
        return given;
    }

    private static Call call(int index, String name, String arguments) {
        return new Call(index, "", name, arguments);
    }

    @Test
    void textWithoutMarkersPassesThroughUnchanged() {
        assertEquals(List.of(new Content("  Hello, <world> {\"a\": 1}\n\n")), parts(false, null, "  Hello", ", <world> ", "{\"a\": 1}\n\n"));
        assertEquals(List.of(new Content(" Hi <thin king\n")), parts(true, null, " Hi <thin", " king\n"));
        assertEquals(List.of(new Content("a <toolbox> b ")), parts(false, ToolSyntax.HERMES, "a <tool", "box> b "));
    }

    @Test
    void qwen3ThinkBlockIsReasoning() {
        assertEquals(List.of(new Reasoning("I should greet.\nWarmly."), new Content("Hello!")),
                parts(true, null, "<think>", "\nI should", " greet.\nWarmly.\n</thi", "nk>\n\n", "Hello!"));
        // An empty think block (enable_thinking off, or a quick answer) leaves only the answer.
        assertEquals(List.of(new Content("Hi")), parts(true, null, "<think>\n\n</think>\n\nHi"));
        // Never closed: all of it was reasoning.
        assertEquals(List.of(new Reasoning("still thinking")), parts(true, null, "<think>still thinking"));
    }

    @Test
    void aPromptThatOpenedThinkStartsInReasoning() {
        assertEquals(List.of(new Reasoning("hmm"), new Content("ok")), parse(true, true, null, List.of("\nhmm\n</think>", "\n\nok")));
    }

    @Test
    void hermesToolCallsAreParsedOutOfTheText() {
        assertEquals(List.of(new Content("Let me check."), call(0, "get_weather", "{\"city\":\"Paris\"}")),
                parts(false, ToolSyntax.HERMES, "Let me check.", " \n<tool", "_call>\n{\"name\": \"get_weather\", ",
                        "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "\n"));
        // Qwen3 as it answers: reasoning, then two calls and nothing else.
        assertEquals(List.of(new Reasoning("Two cities."), call(0, "get_weather", "{\"city\":\"Paris\"}"), call(1, "get_weather", "{\"city\":\"Oslo\"}")),
                parts(true, ToolSyntax.HERMES, "<think>\nTwo cities.\n</think>\n\n",
                        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n",
                        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
        // Arguments already as JSON text, and none at all.
        assertEquals(List.of(call(0, "f", "{\"x\": 1}"), call(1, "now", "{}")),
                parts(false, ToolSyntax.HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call><tool_call>{\"name\": \"now\"}</tool_call>"));
    }

    @Test
    void malformedToolCallsAreText() {
        String bad = "<tool_call>\n{\"name\": oops}\n</tool_call>";
        assertEquals(List.of(new Content("I will call. " + bad)), parts(false, ToolSyntax.HERMES, "I will call. ", bad));
        assertFalse(new ReplyParser(false, false, ToolSyntax.HERMES).calledTools());
        // Never closed and not JSON: text. No name: text.
        assertEquals(List.of(new Content("<tool_call>\n{\"name\": \"f\", \"argu")), parts(false, ToolSyntax.HERMES, "<tool_call>\n{\"name\": \"f\", \"argu"));
        assertEquals(List.of(new Content("<tool_call>{\"arguments\": {}}</tool_call>")), parts(false, ToolSyntax.HERMES, "<tool_call>{\"arguments\": {}}</tool_call>"));
        // Never closed but complete (the model ended right after the JSON): a call.
        assertEquals(List.of(call(0, "f", "{}")), parts(false, ToolSyntax.HERMES, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n"));
    }

    @Test
    void llama3JsonAnswersAreCalls() {
        assertEquals(List.of(call(0, "get_weather", "{\"city\":\"Paris\"}")),
                parts(false, ToolSyntax.LLAMA3_JSON, "{\"name\": \"get_weather\", ", "\"parameters\": {\"city\": \"Paris\"}}"));
        assertEquals(List.of(call(0, "a", "{}"), call(1, "b", "{\"x\":2}")),
                parts(false, ToolSyntax.LLAMA3_JSON, "<|python_tag|>", "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 2}}"));
        // Text, and JSON that is not a call, stay text.
        assertEquals(List.of(new Content("The answer is {x}.")), parts(false, ToolSyntax.LLAMA3_JSON, "The answer", " is {x}."));
        assertEquals(List.of(new Content("{\"city\": \"Paris\"}")), parts(false, ToolSyntax.LLAMA3_JSON, "{\"city\": ", "\"Paris\"}"));
    }

    @Test
    void partsStreamAsTheyAreSettled() {
        ReplyParser p = new ReplyParser(true, false, ToolSyntax.HERMES);
        assertEquals(List.of(), p.accept("<thi"), "could still be <think>");
        assertEquals(List.of(), p.accept("nk>\n"));
        assertEquals(List.of(new Reasoning("Plan")), p.accept("Plan\n</"), "the possible </think> and the newline wait");
        assertEquals(List.of(), p.accept("think>\n\n"));
        assertEquals(List.of(new Content("Sure.")), p.accept("Sure. <tool_"));
        assertEquals(List.of(), p.accept("call>{\"name\": \"f\", \"arguments\": {}}"), "a call is held until it closes");
        List<Part> closed = p.accept("</tool_call>");
        assertEquals(1, closed.size());
        assertTrue(closed.getFirst() instanceof Call c && c.name().equals("f") && c.id().startsWith("call_"), closed.toString());
        assertEquals(List.of(), p.finish());
        assertTrue(p.calledTools());
    }

    /** A forced call's opening that the model leaves unfinished, with only whitespace after it: the text comes back as content. */
    @Test
    void anUnfinishedCallWithOnlyWhitespaceAfterItIsContent() {
        String opening = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ";
        assertEquals(List.of(new Content(opening + "        ")), parts(true, ToolSyntax.HERMES, opening, "    ", "    "));
        assertEquals(List.of(new Content(opening + "\n\n\n")), parts(true, ToolSyntax.HERMES, opening, "\n\n", "\n"));
    }
}
