package io.ternion.engine;

import io.ternion.chat.ChatTemplate;
import io.ternion.chat.Message;
import io.ternion.gguf.Metadata;
import io.ternion.graph.Log;
import io.ternion.tokenizer.Tokenizer;
import io.ternion.tokenizer.Vocabulary;
import java.util.List;
import java.util.Map;

/**
 * How a model wants a conversation written: its own {@code tokenizer.chat_template}, or, when the
 * file has none, a built-in template chosen by architecture and vocabulary (said once on stderr).
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

    private final ChatTemplate template;
    private final String name;
    private final Tokenizer tokenizer;
    private final String bos;

    private ChatFormat(ChatTemplate template, String name, Tokenizer tokenizer) {
        Vocabulary v = tokenizer.vocabulary();
        this.bos = v.bos() >= 0 ? v.token(v.bos()) : "";
        this.template = template.withSpecialTokens(bos, v.eos() >= 0 ? v.token(v.eos()) : "");
        this.name = name;
        this.tokenizer = tokenizer;
    }

    /** The model's template, or a built-in one for its architecture. */
    public static ChatFormat forModel(Metadata md, String architecture, Tokenizer tokenizer) {
        String own = md.getString("tokenizer.chat_template", null);
        if (own != null) return new ChatFormat(ChatTemplate.compile(own), "the model's tokenizer.chat_template", tokenizer);
        Vocabulary v = tokenizer.vocabulary();
        String arch = architecture == null ? "" : architecture;
        String[] choice;
        if (arch.equals("bitnet-b1.58") || arch.equals("bitnet-25")) choice = new String[] {ChatTemplate.BITNET_B158, "BitNet b1.58"};
        else if (v.id("<|start_header_id|>") >= 0) choice = new String[] {LLAMA3, "Llama 3"};
        else if (v.id("<|im_start|>") >= 0) choice = new String[] {CHATML, "ChatML"};
        else choice = new String[] {PLAIN, "plain User:/Assistant:"};
        Log.info("chat: the model has no tokenizer.chat_template; using the built-in " + choice[1] + " template");
        return new ChatFormat(ChatTemplate.compile(choice[0]), "built-in " + choice[1], tokenizer);
    }

    public String name() { return name; }

    /** The conversation as text, ending with the assistant's cue. */
    public String render(List<Message> messages) {
        return template.render(messages, true, Map.of());
    }

    /** The conversation as tokens: special tokens in the template parsed, BOS added once. */
    public int[] encode(List<Message> messages) {
        String text = render(messages);
        boolean bosInText = !bos.isEmpty() && text.startsWith(bos);
        return tokenizer.encode(text, tokenizer.addsBos() && !bosInText, true);
    }
}
