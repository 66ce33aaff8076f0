package io.ternion.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ternion.chat.TemplateException;
import io.ternion.engine.ChatFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A chat request's prompt: its messages (tool calls and tool results included) and tools rendered
 * through the model's chat template, as llama-server and transformers render them, and how to read
 * the reply ({@link ReplyParser}: {@code <think>} and tool calls).
 *
 * @param text   the prompt as text: the rendered conversation, then the start of the answer when a
 *               tool call is required (the model has no grammar to force one; it continues a call)
 * @param answerPrefix that start of the answer ("" for none): the reply is read as if it began with it
 * @param thinks whether the template writes {@code <think>} blocks (Qwen3's)
 * @param tools  how the model writes tool calls; null when no tools are offered (or tool_choice none)
 */
record ChatRequest(String text, String answerPrefix, boolean thinks, ToolSyntax tools) {

    /** A parser for one reply to this prompt. */
    ReplyParser parser() {
        boolean openThink = thinks && answerPrefix.isEmpty() && text.stripTrailing().endsWith(ReplyParser.THINK);
        ReplyParser parser = new ReplyParser(thinks, openThink, tools);
        return parser;
    }

    /** Whether replies need a parser at all: without tools or {@code <think>} the text is the reply. */
    boolean parsed() {
        return thinks || tools != null;
    }

    static ChatRequest of(ChatFormat format, boolean llamaVocabulary, JsonNode body) {
        String source = format.source();
        // Templates that use tools say so in their text; others get the tools described in a system message.
        boolean templateRendersTools = source.contains("tools");
        ToolSyntax syntax = ToolSyntax.of(source, llamaVocabulary);
        JsonNode tools = tools(body);
        String choice = toolChoice(body, tools);
        boolean offered = tools != null && !choice.equals("none");

        List<Map<String, Object>> messages = messages(body, templateRendersTools ? null : syntax);
        Map<String, Object> variables = new HashMap<>();
        JsonNode kwargs = Fields.object(body, "chat_template_kwargs");
        if (kwargs != null) {
            for (Map.Entry<String, JsonNode> e : kwargs.properties()) {
                if (e.getKey().equals("messages") || e.getKey().equals("tools")) {
                    throw ApiError.badRequest("chat_template_kwargs must not set " + e.getKey() + ": give it as the request's own field", "chat_template_kwargs");
                }
                variables.put(e.getKey(), e.getValue());
            }
        }
        if (offered) {
            if (templateRendersTools) {
                variables.put("tools", tools);
            } else {
                StringBuilder lines = new StringBuilder();
                for (JsonNode tool : tools) lines.append(lines.isEmpty() ? "" : "\n").append(tool.toString());
                String description = syntax.describe(lines.toString());
                Map<String, Object> first = messages.getFirst();
                if (first.get("role").equals("system")) first.put("content", first.get("content") + "\n\n" + description);
                else messages.addFirst(message("system", description));
            }
        }
        String rendered;
        try {
            rendered = format.render(messages, variables);
        } catch (TemplateException e) {
            throw ApiError.badRequest("the chat template (" + format.name() + ") cannot render these messages: " + e.getMessage(), "messages");
        }
        String prefix = !offered || choice.equals("auto") ? "" : choice.equals("required") ? syntax.requiredPrefix : syntax.namedPrefix(choice);
        return new ChatRequest(rendered + prefix, prefix, source.contains(ReplyParser.THINK), offered ? syntax : null);
    }

    /** OpenAI's tools: function definitions, checked enough that the template gets what it expects. */
    private static JsonNode tools(JsonNode body) {
        JsonNode tools = body.get("tools");
        if (tools == null || tools.isNull()) return null;
        if (!tools.isArray()) throw ApiError.badRequest("tools must be a list of {\"type\": \"function\", \"function\": {...}}, not " + Fields.kind(tools), "tools");
        if (tools.isEmpty()) return null;
        for (int i = 0; i < tools.size(); i++) {
            String param = "tools[" + i + "]";
            JsonNode tool = tools.get(i);
            if (!tool.isObject()) throw ApiError.badRequest(param + " must be an object, not " + Fields.kind(tool), param);
            JsonNode type = tool.get("type");
            if (type == null || !type.asText().equals("function")) throw ApiError.badRequest(param + ".type must be \"function\"", param + ".type");
            JsonNode function = tool.get("function");
            if (function == null || !function.isObject()) throw ApiError.badRequest(param + ".function must be an object with a name", param + ".function");
            JsonNode name = function.get("name");
            if (name == null || !name.isTextual() || name.asText().isBlank()) throw ApiError.badRequest(param + ".function.name must be a non-empty string", param + ".function.name");
            JsonNode parameters = function.get("parameters");
            if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
                throw ApiError.badRequest(param + ".function.parameters must be a JSON Schema object, not " + Fields.kind(parameters), param + ".function.parameters");
            }
        }
        return tools;
    }

    /** "auto", "none", "required", or the name of the one function to call. */
    private static String toolChoice(JsonNode body, JsonNode tools) {
        JsonNode choice = body.get("tool_choice");
        if (choice == null || choice.isNull()) return "auto";
        if (choice.isTextual()) {
            String c = choice.asText();
            if (!c.equals("auto") && !c.equals("none") && !c.equals("required")) {
                throw ApiError.badRequest("tool_choice must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": ...}}, not " + c, "tool_choice");
            }
            if (c.equals("required") && tools == null) throw ApiError.badRequest("tool_choice is required but there are no tools", "tool_choice");
            return c;
        }
        JsonNode function = choice.isObject() ? choice.get("function") : null;
        JsonNode name = function != null && function.isObject() ? function.get("name") : null;
        if (name == null || !name.isTextual()) {
            throw ApiError.badRequest("tool_choice must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
        }
        if (tools != null) {
            for (JsonNode tool : tools) if (tool.get("function").get("name").asText().equals(name.asText())) return name.asText();
        }
        throw ApiError.badRequest("tool_choice names " + name.asText() + ", which is not among the tools", "tool_choice");
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /**
     * The messages as the template's dicts. Assistant tool calls and tool results go to a template
     * that renders them as they are; a template that knows nothing of tools ({@code describeIn}
     * not null) gets the calls written into the assistant's text in the syntax it was asked for.
     */
    private static List<Map<String, Object>> messages(JsonNode body, ToolSyntax describeIn) {
        JsonNode list = body.get("messages");
        if (list == null || list.isNull()) throw ApiError.badRequest("messages is required", "messages");
        if (!list.isArray()) throw ApiError.badRequest("messages must be a list, not " + Fields.kind(list), "messages");
        if (list.isEmpty()) throw ApiError.badRequest("messages must not be empty", "messages");
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String param = "messages[" + i + "]";
            JsonNode m = list.get(i);
            if (!m.isObject()) throw ApiError.badRequest(param + " must be an object, not " + Fields.kind(m), param);
            JsonNode roleNode = m.get("role");
            if (roleNode == null || !roleNode.isTextual()) throw ApiError.badRequest(param + ".role must be a string", param + ".role");
            String role = switch (roleNode.asText()) {
                case "system", "developer" -> "system"; // OpenAI's newer name for the system role
                case "user", "assistant", "tool" -> roleNode.asText();
                default -> throw ApiError.badRequest(param + ".role must be system, developer, user, assistant or tool", param + ".role");
            };
            boolean calls = role.equals("assistant") && Fields.present(m, "tool_calls");
            Map<String, Object> message = message(role, content(m.get("content"), param + ".content", calls || role.equals("assistant")));
            if (role.equals("assistant")) {
                JsonNode reasoning = m.get("reasoning_content");
                if (reasoning != null && reasoning.isTextual()) message.put("reasoning_content", reasoning.asText());
            }
            if (calls) {
                List<Map<String, Object>> toolCalls = toolCalls(m.get("tool_calls"), param + ".tool_calls");
                if (describeIn == null) {
                    message.put("tool_calls", toolCalls);
                } else {
                    StringBuilder text = new StringBuilder((String) message.get("content"));
                    for (Map<String, Object> call : toolCalls) text.append(text.isEmpty() ? "" : "\n").append(callText(describeIn, call));
                    message.put("content", text.toString());
                }
            } else if (Fields.present(m, "tool_calls")) {
                throw ApiError.badRequest(param + ".tool_calls: only assistant messages carry tool calls", param + ".tool_calls");
            }
            if (role.equals("tool")) {
                // OpenAI requires the id; llama-server does not, and templates rarely show it: optional here too.
                JsonNode id = m.get("tool_call_id");
                if (id != null && !id.isNull() && !id.isTextual()) throw ApiError.badRequest(param + ".tool_call_id must be a string: the id of the call this answers", param + ".tool_call_id");
                if (id != null && id.isTextual()) message.put("tool_call_id", id.asText());
                JsonNode name = m.get("name");
                if (name != null && name.isTextual()) message.put("name", name.asText());
            }
            out.add(message);
        }
        return out;
    }

    /**
     * An assistant's tool calls as templates read them: {@code {id, type, function: {name, arguments}}}
     * with the arguments as an object when they are a JSON object's text, as llama-server passes them
     * (Llama 3.1's template writes {@code arguments | tojson}; Qwen3's takes either).
     */
    private static List<Map<String, Object>> toolCalls(JsonNode calls, String param) {
        if (!calls.isArray()) throw ApiError.badRequest(param + " must be a list, not " + Fields.kind(calls), param);
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            String p = param + "[" + i + "]";
            JsonNode call = calls.get(i);
            JsonNode function = call.isObject() ? call.get("function") : null;
            if (function == null || !function.isObject()) throw ApiError.badRequest(p + ".function must be an object with name and arguments", p + ".function");
            JsonNode name = function.get("name");
            if (name == null || !name.isTextual()) throw ApiError.badRequest(p + ".function.name must be a string", p + ".function.name");
            JsonNode arguments = function.get("arguments");
            Object args;
            if (arguments == null || arguments.isNull()) {
                args = ApiHandler.JSON.createObjectNode();
            } else if (arguments.isObject()) {
                args = arguments;
            } else if (arguments.isTextual()) {
                JsonNode parsed = null;
                try {
                    parsed = ApiHandler.JSON.readTree(arguments.asText());
                } catch (Exception e) {
                    // not JSON: the template gets the text as it is
                }
                args = parsed != null && parsed.isObject() ? parsed : arguments.asText();
            } else {
                throw ApiError.badRequest(p + ".function.arguments must be a string (JSON text) or an object, not " + Fields.kind(arguments), p + ".function.arguments");
            }
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", name.asText());
            fn.put("arguments", args);
            Map<String, Object> c = new LinkedHashMap<>();
            JsonNode id = call.get("id");
            if (id != null && id.isTextual()) c.put("id", id.asText());
            c.put("type", "function");
            c.put("function", fn);
            out.add(c);
        }
        return out;
    }

    /** A call in the syntax the model was asked to write, for templates that cannot render tool_calls. */
    @SuppressWarnings("unchecked")
    private static String callText(ToolSyntax syntax, Map<String, Object> call) {
        Map<String, Object> fn = (Map<String, Object>) call.get("function");
        ObjectNode json = ApiHandler.JSON.createObjectNode().put("name", (String) fn.get("name"));
        Object args = fn.get("arguments");
        String key = syntax == ToolSyntax.HERMES ? "arguments" : "parameters";
        if (args instanceof JsonNode node) json.set(key, node);
        else json.put(key, (String) args);
        return syntax == ToolSyntax.HERMES ? ReplyParser.CALL + "\n" + json + "\n" + ReplyParser.END_CALL : json.toString();
    }

    /** A message's text: a string, or OpenAI's list of parts of which only text parts are taken. */
    private static String content(JsonNode content, String param, boolean mayBeEmpty) {
        if (content == null || content.isNull()) {
            if (mayBeEmpty) return "";
            throw ApiError.badRequest(param + " is required", param);
        }
        if (content.isTextual()) return content.asText();
        if (!content.isArray()) throw ApiError.badRequest(param + " must be a string or a list of parts, not " + Fields.kind(content), param);
        StringBuilder text = new StringBuilder();
        for (JsonNode part : content) {
            String type = part.isObject() && part.get("type") != null ? part.get("type").asText() : "";
            JsonNode t = part.get("text");
            if (!type.equals("text") || t == null || !t.isTextual()) {
                throw ApiError.badRequest(param + ": only parts {\"type\": \"text\", \"text\": \"...\"} are supported (not images or audio)", param);
            }
            if (!text.isEmpty()) text.append('\n');
            text.append(t.asText());
        }
        return text.toString();
    }
}
