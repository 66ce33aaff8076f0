package io.ternion.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Splits a chat reply, piece by piece as it is generated, into what OpenAI's clients expect apart:
 * the text ({@code content}), Qwen3's {@code <think>} block ({@code reasoning_content}, as
 * llama-server's default reasoning format gives it) and tool calls ({@code tool_calls}).
 *
 * <p>Like stop strings, text that could still become a marker ({@code <think>}, {@code </think>},
 * {@code <tool_call>}) is held back until the next piece settles it, so a marker or part of one is
 * never shown as text. A tool call is held back whole until it is complete and parses: then it comes
 * out as one {@link Call}. Tool-call text that does not parse (bad JSON, no name, never closed) comes
 * out as plain content, so a confused model gives text, never an error.
 *
 * <p>Whitespace next to markers is the markup's, not the answer's: it is dropped after
 * {@code <think>} and {@code </think>}, around tool calls, and at the end of a reply that called a
 * tool. A reply with neither markers nor tools passes through unchanged.
 */
final class ReplyParser {
    sealed interface Part permits Content, Reasoning, Call {}

    record Content(String text) implements Part {}

    record Reasoning(String text) implements Part {}

    /** A complete tool call; {@code arguments} is a JSON text, as OpenAI sends it. */
    record Call(int index, String id, String name, String arguments) implements Part {}

    static final String THINK = "<think>", END_THINK = "</think>";
    static final String CALL = "<tool_call>", END_CALL = "</tool_call>";
    static final String PYTHON_TAG = "<|python_tag|>";

    private enum State {
        /** Before anything: a {@code <think>} may open the reply. */
        START,
        REASONING,
        /** At the start of the answer (after any reasoning): Llama's JSON call may open it. */
        ANSWER_START,
        CONTENT,
        /** Inside {@code <tool_call>...}: held until {@code </tool_call>}. */
        HERMES_CALL,
        /** A Llama 3 JSON answer: held to the end, then parsed. */
        JSON_CALL
    }

    private final boolean thinks;
    /** Null: no tools were offered, so tool-call text is just text. */
    private final ToolSyntax tools;
    private final StringBuilder pending = new StringBuilder();
    /** Whitespace at the end of the content so far, not yet shown: it is dropped if a tool call follows. */
    private final StringBuilder heldSpace = new StringBuilder();
    private State state;
    /** Drop whitespace before the next text (after a marker). */
    private boolean stripLeading;
    /** The held whitespace a tool call's opener followed: given back if the call does not parse. */
    private String spaceBeforeCall = "";
    private int calls;

    /**
     * @param thinks            whether the template writes {@code <think>} blocks (Qwen3's)
     * @param startsInReasoning whether the prompt itself opened a {@code <think>} the reply continues
     * @param tools             the syntax of tool calls, or null when no tools were offered
     */
    ReplyParser(boolean thinks, boolean startsInReasoning, ToolSyntax tools) {
        this.thinks = thinks;
        this.tools = tools;
        this.state = startsInReasoning ? State.REASONING : thinks ? State.START : State.ANSWER_START;
        this.stripLeading = startsInReasoning;
    }

    /** Whether a tool call has come out (finish_reason tool_calls). */
    boolean calledTools() { return calls > 0; }

    /** Takes the next piece; returns what can be shown now, in order (possibly nothing). */
    List<Part> accept(String piece) {
        pending.append(piece);
        List<Part> out = new ArrayList<>();
        while (step(out, false)) { /* each step consumes pending text or changes state */ }
        return out;
    }

    /** At the end of the reply: what was held back, settled. */
    List<Part> finish() {
        List<Part> out = new ArrayList<>();
        while (step(out, true)) { /* as above, with nothing more to come */ }
        switch (state) {
            case REASONING -> { // a think block never closed: all of it was reasoning
                if (!pending.isEmpty()) out.add(new Reasoning(pending.toString()));
            }
            case HERMES_CALL -> finishHermesCall(out, pending.toString(), false);
            case JSON_CALL -> finishJsonCall(out, pending.toString());
            default -> content(out, pending.toString());
        }
        pending.setLength(0);
        if (!heldSpace.isEmpty() && calls == 0) out.add(new Content(heldSpace.toString()));
        heldSpace.setLength(0);
        return merge(out);
    }

    /** One move of the state machine; false when it must wait for more text (or, at the end, has nothing left to do). */
    private boolean step(List<Part> out, boolean end) {
        if (stripLeading) {
            int i = 0;
            while (i < pending.length() && Character.isWhitespace(pending.charAt(i))) i++;
            pending.delete(0, i);
            if (pending.isEmpty()) return false;
            stripLeading = false;
        }
        String text = pending.toString();
        switch (state) {
            case START -> {
                String lead = text.stripLeading();
                if (lead.startsWith(THINK)) {
                    pending.setLength(0);
                    pending.append(lead.substring(THINK.length()));
                    state = State.REASONING;
                    stripLeading = true;
                    return true;
                }
                if (!end && THINK.startsWith(lead)) return false; // could still be <think>
                state = State.ANSWER_START;
                return true;
            }
            case REASONING -> {
                int at = text.indexOf(END_THINK);
                if (at >= 0) {
                    String reasoning = text.substring(0, at).stripTrailing();
                    if (!reasoning.isEmpty()) out.add(new Reasoning(reasoning));
                    pending.delete(0, at + END_THINK.length());
                    state = State.ANSWER_START;
                    stripLeading = true;
                    return true;
                }
                if (end) return false;
                // Whitespace before what is held waits too: it is dropped when </think> follows.
                int keep = heldPrefix(text, END_THINK);
                String shown = text.substring(0, text.length() - keep);
                keep += shown.length() - shown.stripTrailing().length();
                if (keep < text.length()) {
                    out.add(new Reasoning(text.substring(0, text.length() - keep)));
                    pending.delete(0, text.length() - keep);
                }
                return false;
            }
            case ANSWER_START -> {
                if (tools == ToolSyntax.LLAMA3_JSON) {
                    String lead = text.stripLeading();
                    if (lead.startsWith("{") || lead.startsWith(PYTHON_TAG)) {
                        state = State.JSON_CALL;
                        return false;
                    }
                    if (!end && (lead.isEmpty() || PYTHON_TAG.startsWith(lead))) return false;
                }
                state = State.CONTENT;
                return true;
            }
            case CONTENT -> {
                if (tools == null) { // nothing to look for: pass through
                    content(out, text);
                    pending.setLength(0);
                    return false;
                }
                String opener = tools == ToolSyntax.HERMES ? CALL : PYTHON_TAG;
                int at = text.indexOf(opener);
                if (at >= 0) {
                    content(out, text.substring(0, at));
                    spaceBeforeCall = heldSpace.toString(); // the markup's, unless the call turns out not to be one
                    heldSpace.setLength(0);
                    pending.delete(0, at + (tools == ToolSyntax.HERMES ? CALL.length() : 0));
                    state = tools == ToolSyntax.HERMES ? State.HERMES_CALL : State.JSON_CALL;
                    return true;
                }
                if (end) return false;
                int keep = heldPrefix(text, opener);
                content(out, text.substring(0, text.length() - keep));
                pending.delete(0, text.length() - keep);
                return false;
            }
            case HERMES_CALL -> {
                int at = text.indexOf(END_CALL);
                if (at < 0) return false;
                finishHermesCall(out, text.substring(0, at), true);
                pending.delete(0, at + END_CALL.length());
                state = State.CONTENT;
                stripLeading = true;
                return true;
            }
            case JSON_CALL -> {
                return false; // held to the end
            }
        }
        return false;
    }

    /** Content, holding back its trailing whitespace while a tool call could still follow. */
    private void content(List<Part> out, String text) {
        if (text.isEmpty()) return;
        if (tools == null) {
            out.add(new Content(text));
            return;
        }
        String body = text.stripTrailing();
        if (!body.isEmpty()) {
            out.add(new Content(heldSpace + body));
            heldSpace.setLength(0);
        }
        heldSpace.append(text, body.length(), text.length());
    }

    private void finishHermesCall(List<Part> out, String body, boolean closed) {
        Call call = call(body.strip(), "arguments");
        if (call != null) {
            out.add(call);
            return;
        }
        content(out, spaceBeforeCall + CALL + body + (closed ? END_CALL : ""));
    }

    private void finishJsonCall(List<Part> out, String text) {
        String body = text.strip();
        if (body.startsWith(PYTHON_TAG)) body = body.substring(PYTHON_TAG.length()).strip();
        // Llama 3.1 may put several calls in one answer, separated by semicolons.
        int before = calls;
        List<Call> found = new ArrayList<>();
        for (String one : body.split(";\\s*(?=\\{)")) {
            Call call = call(one.strip(), "parameters");
            if (call == null) {
                calls = before; // all or nothing: the text goes back as it was
                content(out, spaceBeforeCall + text);
                return;
            }
            found.add(call);
        }
        out.addAll(found);
    }

    /** {@code {"name": NAME, KEY: {...}}} (or "arguments") as a call, or null when it is not one. */
    private Call call(String json, String argumentsKey) {
        JsonNode node;
        try {
            node = ApiHandler.JSON.readTree(json);
        } catch (Exception e) {
            return null;
        }
        if (node == null || !node.isObject()) return null;
        JsonNode name = node.get("name");
        if (name == null || !name.isTextual() || name.asText().isEmpty()) return null;
        JsonNode args = node.has(argumentsKey) ? node.get(argumentsKey) : node.has("arguments") ? node.get("arguments") : node.get("parameters");
        String arguments;
        if (args == null || args.isNull()) arguments = "{}";
        else if (args.isObject()) arguments = args.toString();
        else if (args.isTextual()) arguments = args.asText(); // already JSON text, as some models write it
        else return null;
        String id = "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        return new Call(calls++, id, name.asText(), arguments);
    }

    /** The longest end of {@code text} that begins {@code marker} (shorter than it). */
    static int heldPrefix(String text, String marker) {
        for (int k = Math.min(marker.length() - 1, text.length()); k > 0; k--) {
            if (text.regionMatches(text.length() - k, marker, 0, k)) return k;
        }
        return 0;
    }

    /** Adjacent parts of one kind as one, so a whole answer's text is simply the sum. */
    private static List<Part> merge(List<Part> parts) {
        List<Part> out = new ArrayList<>();
        for (Part p : parts) {
            Part last = out.isEmpty() ? null : out.getLast();
            if (p instanceof Content c && last instanceof Content l) out.set(out.size() - 1, new Content(l.text() + c.text()));
            else if (p instanceof Reasoning r && last instanceof Reasoning l) out.set(out.size() - 1, new Reasoning(l.text() + r.text()));
            else out.add(p);
        }
        return out;
    }
}
