package io.ternion.engine;

import io.ternion.chat.ChatTemplate;
import io.ternion.chat.Message;
import io.ternion.chat.TemplateException;
import io.ternion.gguf.Metadata;
import io.ternion.graph.Log;
import io.ternion.tokenizer.Tokenizer;
import io.ternion.tokenizer.Vocabulary;
import java.util.List;
import java.util.Map;

/**
 * How a model wants a conversation written: its own {@code tokenizer.chat_template}, or, when the
 * file has none, a built-in template chosen by architecture and vocabulary (said once on stderr).
 *
 * <p>The model's template is untrusted input. When it fails to compile, or to render (a syntax error, a
 * {@code raise_exception}, or one of the chat module's limits on depth, loops, size and time), the
 * built-in template it would have had without one takes over for good, said once on stderr with the
 * error. An error from the built-in template itself propagates.
 */
public final class ChatFormat {
    /** Llama 3 Instruct's template, as its tokenizer_config.json has it. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    /** ChatML, as Qwen writes it (without Qwen3's tool and thinking extras). */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    /** For models with no chat training (stories260K): plain turns, so the CLI still works. */
    static final String PLAIN = "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
            + "{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

    /** A built-in template: its source and the name stderr gives it. */
    private record BuiltIn(String source, String label) {}

    private final Tokenizer tokenizer;
    private final String bos;
    private final String eos;
    /** What takes over when the model's template fails to render; null once the template is a built-in one. */
    private BuiltIn fallback;
    private ChatTemplate template;
    private String name;

    private ChatFormat(ChatTemplate template, String name, Tokenizer tokenizer, BuiltIn fallback) {
        Vocabulary v = tokenizer.vocabulary();
        this.bos = v.bos() >= 0 ? v.token(v.bos()) : "";
        this.eos = v.eos() >= 0 ? v.token(v.eos()) : "";
        this.template = template.withSpecialTokens(bos, eos);
        this.name = name;
        this.tokenizer = tokenizer;
        this.fallback = fallback;
    }

    /** A template the user gave (llama.cpp's {@code --chat-template-file}): its errors are the user's to see, with nothing to fall back to. */
    public static ChatFormat of(String templateSource, String name, Tokenizer tokenizer) {
        return new ChatFormat(ChatTemplate.compile(templateSource), name, tokenizer, null);
    }

    /** The model's template, or a built-in one for its architecture. */
    public static ChatFormat forModel(Metadata md, String architecture, Tokenizer tokenizer) {
        String own = md.getString("tokenizer.chat_template", null);
        BuiltIn builtIn = builtIn(architecture, tokenizer.vocabulary());
        if (own != null) {
            try {
                return new ChatFormat(ChatTemplate.compile(own), "the model's tokenizer.chat_template", tokenizer, builtIn);
            } catch (TemplateException e) {
                Log.info("chat: the model's tokenizer.chat_template does not compile: " + e.getMessage()
                        + "; using the built-in " + builtIn.label() + " template instead");
            }
        } else {
            Log.info("chat: the model has no tokenizer.chat_template; using the built-in " + builtIn.label() + " template");
        }
        return new ChatFormat(ChatTemplate.compile(builtIn.source()), "built-in " + builtIn.label(), tokenizer, null);
    }

    /**
     * The model's template for a server, where conversations come from many clients: a render error
     * goes back to the conversation that caused it instead of replacing the template for everyone.
     * A template that fails to compile, or to render a single user turn, is replaced by the built-in
     * one at once, said on stderr.
     */
    public static ChatFormat forServer(Metadata md, String architecture, Tokenizer tokenizer) {
        String own = md.getString("tokenizer.chat_template", null);
        if (own != null) {
            try {
                ChatFormat format = new ChatFormat(ChatTemplate.compile(own), "the model's tokenizer.chat_template", tokenizer, null);
                format.render(List.of(Message.user("Hello")));
                return format;
            } catch (TemplateException e) {
                BuiltIn builtIn = builtIn(architecture, tokenizer.vocabulary());
                Log.info("chat: the model's tokenizer.chat_template fails: " + e.getMessage()
                        + "; using the built-in " + builtIn.label() + " template instead");
                return new ChatFormat(ChatTemplate.compile(builtIn.source()), "built-in " + builtIn.label(), tokenizer, null);
            }
        }
        return forModel(md, architecture, tokenizer);
    }

    /** The template a model without one gets: by architecture, else by the vocabulary's special tokens. */
    private static BuiltIn builtIn(String architecture, Vocabulary v) {
        String arch = architecture == null ? "" : architecture;
        if (arch.equals("bitnet-b1.58") || arch.equals("bitnet-25")) return new BuiltIn(ChatTemplate.BITNET_B158, "BitNet b1.58");
        if (v.id("<|start_header_id|>") >= 0) return new BuiltIn(LLAMA3, "Llama 3");
        if (v.id("<|im_start|>") >= 0) return new BuiltIn(CHATML, "ChatML");
        return new BuiltIn(PLAIN, "plain User:/Assistant:");
    }

    /** The text of the template in use, for callers that adapt to what it renders (tools, {@code <think>}). */
    public synchronized String source() { return template.source(); }

    /** The template in use: the model's, or which built-in one. */
    public synchronized String name() { return name; }

    /**
     * The conversation as text, ending with the assistant's cue. If the model's template fails, the
     * built-in one renders it, and every later conversation too.
     *
     * @throws TemplateException when the built-in template fails (for example on a message longer than
     *                           the chat module's string length limit)
     */
    public String render(List<Message> messages) {
        return render(messages, Map.of());
    }

    /**
     * The conversation as text with more variables for the template ({@code tools},
     * {@code enable_thinking}, ...). Messages may be {@link Message}s or maps (and JSON trees) with more
     * keys than role and content ({@code tool_calls}, {@code tool_call_id}), as a server's messages
     * carry; the template sees them as transformers' dicts. Fails over as {@link #render(List)} does.
     */
    public String render(List<?> messages, Map<String, ?> variables) {
        ChatTemplate current;
        synchronized (this) {
            current = template;
        }
        try {
            return current.render(messages, true, variables);
        } catch (TemplateException e) {
            synchronized (this) {
                if (template == current) { // the first failure switches (another thread may have already)
                    if (fallback == null) throw e;
                    Log.info("chat: the model's tokenizer.chat_template failed to render: " + e.getMessage()
                            + "; using the built-in " + fallback.label() + " template instead");
                    template = ChatTemplate.compile(fallback.source()).withSpecialTokens(bos, eos);
                    name = "built-in " + fallback.label();
                    fallback = null;
                }
                current = template;
            }
            return current.render(messages, true, variables);
        }
    }

    /** The conversation as tokens: special tokens in the template parsed, BOS added once. */
    public int[] encode(List<Message> messages) {
        return encodeRendered(render(messages));
    }

    /** Text this format rendered (perhaps with more after it, such as the start of the answer) as tokens: special tokens parsed, BOS added once. */
    public int[] encodeRendered(String text) {
        boolean bosInText = !bos.isEmpty() && text.startsWith(bos);
        return tokenizer.encode(text, tokenizer.addsBos() && !bosInText, true);
    }
}
