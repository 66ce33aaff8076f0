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
 *
 * <p>A template is untrusted input (a GGUF file carries its own): compiling and rendering stay within
 * {@link Limits} (nesting depth, loop iterations, sizes, wall time) and fail with a
 * {@link TemplateException} that names the limit; neither lets a {@link StackOverflowError} or an
 * {@link OutOfMemoryError} escape.
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
    private final Limits limits;
    private final List<Node> body;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String source, TemplateOptions options, Limits limits, List<Node> body, String bosToken, String eosToken) {
        this.source = source;
        this.options = options;
        this.limits = limits;
        this.body = body;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /** Compiles with transformers' settings ({@link TemplateOptions#TRANSFORMERS}) and the default limits. */
    public static ChatTemplate compile(String source) {
        return compile(source, TemplateOptions.TRANSFORMERS);
    }

    /** Compiles with the default {@link Limits}. */
    public static ChatTemplate compile(String source, TemplateOptions options) {
        return compile(source, options, Limits.DEFAULT);
    }

    /**
     * @param limits what compiling and each render of this template may cost
     * @throws TemplateException with line and column on a syntax error, an unknown tag, or a filter or
     *                           test that does not exist (outside an {@code if}, as in Jinja2), or when
     *                           the template nests deeper than {@link Limits#maxNestingDepth()}
     */
    public static ChatTemplate compile(String source, TemplateOptions options, Limits limits) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(limits, "limits");
        List<Node> body;
        try {
            body = Parser.parse(Lexer.tokenize(source, options), limits);
        } catch (StackOverflowError e) { // a last resort: the nesting limit should always come first
            throw new TemplateException("nesting depth exceeds " + limits.maxNestingDepth() + " (the Java stack ran out first)");
        } catch (OutOfMemoryError e) {
            throw new TemplateException("out of memory compiling the template (" + source.length() + " characters)");
        }
        return new ChatTemplate(source, options, limits, body, null, null);
    }

    /**
     * This template with {@code bos_token} and {@code eos_token} defined for chat rendering. A null token
     * stays undefined, as transformers leaves a tokenizer's unset special tokens out.
     */
    public ChatTemplate withSpecialTokens(String bosToken, String eosToken) {
        return new ChatTemplate(source, options, limits, body, bosToken, eosToken);
    }

    /**
     * Renders a conversation the way {@code apply_chat_template} does: the template sees {@code messages}
     * (a list of {@code {'role': ..., 'content': ...}} dicts), {@code add_generation_prompt},
     * {@code tools} and {@code documents} (both None; transformers always passes them), {@code bos_token}
     * and {@code eos_token} when set, and then {@code extraVariables} (for example
     * {@code enable_thinking} or {@code tools}), which override any of those. Messages are usually
     * {@link Message}s; maps (or Jackson trees) may carry more keys, such as {@code tool_calls}.
     */
    public String render(List<?> messages, boolean addGenerationPrompt, Map<String, ?> extraVariables) {
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
     *
     * @throws TemplateException when the template fails, or exceeds one of its {@link Limits}
     */
    public String render(Map<String, ?> context) {
        try {
            return Guard.run(limits, guard -> {
                Map<String, Object> variables = new HashMap<>();
                context.forEach((name, value) -> variables.put(name, Values.fromJava(value)));
                return Renderer.render(body, variables, guard);
            });
        } catch (StackOverflowError e) { // last resorts: the limits should always come first
            throw new TemplateException("render depth exceeds " + limits.maxRenderDepth() + " (the Java stack ran out first)");
        } catch (OutOfMemoryError e) {
            throw new TemplateException("out of memory rendering the template (values created are limited to "
                    + limits.maxCreatedSize() + " characters and items in total; the heap ran out first)");
        }
    }

    /** The template text this was compiled from. */
    public String source() {
        return source;
    }

    public TemplateOptions options() {
        return options;
    }

    public Limits limits() {
        return limits;
    }
}
