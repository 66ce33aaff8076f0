package io.ternion.server;

/**
 * How a model writes a tool call, chosen from its chat template's text (as llama.cpp's
 * {@code common_chat_templates} does) with the vocabulary as a tie-breaker.
 */
enum ToolSyntax {
    /**
     * Hermes style, Qwen2.5/Qwen3's: {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>},
     * any number of them, text around them. Also what a template without tools is asked to write.
     */
    HERMES("<tool_call>\n", "<tool_call>\n{\"name\": \"%s\", \"arguments\": "),
    /**
     * Llama 3.1+'s: the whole answer one JSON object {@code {"name": ..., "parameters": {...}}},
     * optionally after {@code <|python_tag|>}.
     */
    LLAMA3_JSON("{\"name\": \"", "{\"name\": \"%s\", \"parameters\": ");

    /** What the answer starts with when a call is required (tool_choice required): the model continues a call. */
    final String requiredPrefix;
    /** The same for one named function; %s is its name. */
    private final String namedPrefix;

    ToolSyntax(String requiredPrefix, String namedPrefix) {
        this.requiredPrefix = requiredPrefix;
        this.namedPrefix = namedPrefix;
    }

    String namedPrefix(String function) {
        return namedPrefix.formatted(function);
    }

    /**
     * @param llamaVocabulary whether the vocabulary has Llama 3's header tokens (a Llama 3 model whose
     *                        template does not say how it calls tools still calls them as Llama 3.1 does)
     */
    static ToolSyntax of(String templateSource, boolean llamaVocabulary) {
        if (templateSource.contains("<tool_call>")) return HERMES;
        if (templateSource.contains("<|python_tag|>") || templateSource.contains("<|start_header_id|>") || llamaVocabulary) return LLAMA3_JSON;
        return HERMES;
    }

    /**
     * The system text for a template that does not render {@code tools} itself (llama-server injects
     * one too; this is a simpler one): the tools as JSON, one a line, and how to call one.
     */
    String describe(String toolsJsonLines) {
        String how = this == HERMES
                ? "To call a function, answer with only <tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
                : "To call a function, answer with only a JSON object {\"name\": <function-name>, \"parameters\": <args-json-object>}";
        return "You may call one or more of these functions to assist with the user query. Their signatures, as JSON:\n"
                + toolsJsonLines + "\n" + how + "\nOtherwise answer as usual.";
    }
}
