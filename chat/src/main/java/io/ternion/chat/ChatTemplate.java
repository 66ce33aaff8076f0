package io.ternion.chat;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A compiled chat template: the Jinja2 text a GGUF file carries in {@code tokenizer.chat_template}
 * (or a {@code tokenizer_config.json} in {@code chat_template}), rendered exactly as
 * {@code transformers}' {@code apply_chat_template(..., tokenize=False)} would render it.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.compile(source).withSpecialTokens("<|begin_of_text|>", "<|eot_id|>");
 * String prompt = t.render(List.of(Message.system("Be terse."), Message.user("Hi")), true, Map.of());
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe; compile once, render many times.
 */
public final class ChatTemplate {
    /**
     * The chat template of BitNet b1.58 2B4T ({@code microsoft/bitnet-b1.58-2B-4T}), for GGUF files that
     * lack one: each turn {@code Role: content<|eot_id|>} (role capitalised, content trimmed), the BOS
     * token before the first turn, and {@code Assistant: } as the generation prompt. Reconstructed from
     * secondhand copies of its {@code tokenizer_config.json} (a Llama-3 template with the header tokens
     * replaced by {@code Role: }); it renders {@code <|begin_of_text|>User: Hi<|eot_id|>Assistant: }.
     */
    public static final String BITNET_B158 = "{% set loop_messages = messages %}"
            + "{% for message in loop_messages %}"
            + "{% set content = message['role'] | capitalize + ': ' + message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";

    private final String source;
    private final TemplateOptions options;
    private final List<Node> body;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String source, TemplateOptions options, List<Node> body, String bosToken, String eosToken) {
        this.source = source;
        this.options = options;
        this.body = body;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** Compiles with transformers' settings ({@link TemplateOptions#TRANSFORMERS}). */
    public static ChatTemplate compile(String source) {
        return compile(source, TemplateOptions.TRANSFORMERS);
    }

    /**
     * @throws TemplateException with line and column on a syntax error, an unknown tag, or a filter or
     *                           test that does not exist (outside an {@code if}, as in Jinja2)
     */
    public static ChatTemplate compile(String source, TemplateOptions options) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(options, "options");
        return new ChatTemplate(source, options, Parser.parse(Lexer.tokenize(source, options)), null, null);
    }

    /**
     * This template with {@code bos_token} and {@code eos_token} defined for chat rendering. A null token
     * stays undefined, as transformers leaves a tokenizer's unset special tokens out.
     */
    public ChatTemplate withSpecialTokens(String bosToken, String eosToken) {
        return new ChatTemplate(source, options, body, bosToken, eosToken);
    }

    /**
     * Renders a conversation the way {@code apply_chat_template} does: the template sees {@code messages}
     * (a list of {@code {'role': ..., 'content': ...}} dicts), {@code add_generation_prompt},
     * {@code tools} and {@code documents} (both None; transformers always passes them), {@code bos_token}
     * and {@code eos_token} when set, and then {@code extraVariables} (for example
     * {@code enable_thinking} or {@code tools}), which override any of those.
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        Map<String, Object> context = new LinkedHashMap<>();
        context.put("messages", messages);
        context.put("tools", null);
        context.put("documents", null);
        context.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) context.put("bos_token", bosToken);
        if (eosToken != null) context.put("eos_token", eosToken);
        if (extraVariables != null) context.putAll(extraVariables);
        return render(context);
    }

    /**
     * Renders with exactly these variables. Values may be Java maps, collections, arrays, records,
     * Jackson trees, strings, numbers, booleans and null; they are copied, never modified.
     */
    public String render(Map<String, ?> context) {
        Map<String, Object> variables = new HashMap<>();
        context.forEach((name, value) -> variables.put(name, Values.fromJava(value)));
        return Renderer.render(body, variables);
    }

    /** The template text this was compiled from. */
    public String source() {
        return source;
    }

    public TemplateOptions options() {
        return options;
    }
}
