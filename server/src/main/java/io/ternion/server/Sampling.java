package io.ternion.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.engine.SamplerParams;
import java.util.List;

/**
 * The generation settings of a chat or text completion request: OpenAI's fields over the server's
 * defaults (the {@code ternion serve} sampling flags).
 *
 * @param maxTokens    new tokens at most; −1: until end of text or a full slot
 * @param stop         strings that end the text where they first appear (not included in it)
 * @param includeUsage {@code stream_options.include_usage}: a last chunk with the token counts
 */
record Sampling(int maxTokens, SamplerParams params, List<String> stop, boolean stream, boolean includeUsage) {
    static final int MAX_STOP_STRINGS = 16;

    /**
     * @param maxTokensFields the fields that give the token limit, the preferred first
     *                        ({@code max_completion_tokens} before the older {@code max_tokens} for chat)
     */
    static Sampling parse(JsonNode body, SamplerParams defaults, int defaultMaxTokens, String... maxTokensFields) {
        Long n = Fields.integer(body, "n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) throw ApiError.badRequest("n must be 1: ternion generates one choice per request", "n");
        Long max = null;
        for (String field : maxTokensFields) {
            Long value = Fields.integer(body, field, -1, Integer.MAX_VALUE);
            if (max == null) max = value;
        }
        Double temperature = Fields.number(body, "temperature", 0, 2);
        Double topP = Fields.number(body, "top_p", 0, 1);
        Long topK = Fields.integer(body, "top_k", 0, Integer.MAX_VALUE);
        Double minP = Fields.number(body, "min_p", 0, 1);
        Long seed = Fields.integer(body, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
        Double presence = Fields.number(body, "presence_penalty", -2, 2);
        Double frequency = Fields.number(body, "frequency_penalty", -2, 2);
        List<String> stop = Fields.strings(body, "stop", MAX_STOP_STRINGS);
        boolean stream = Fields.bool(body, "stream", false);
        JsonNode options = Fields.object(body, "stream_options");
        boolean includeUsage = options != null && Fields.bool(options, "include_usage", false);
        if (Fields.bool(body, "logprobs", false) || Fields.present(body, "top_logprobs")) {
            throw ApiError.badRequest("logprobs are not supported by ternion yet", "logprobs");
        }
        SamplerParams params = new SamplerParams(
                temperature != null ? temperature.floatValue() : defaults.temperature(),
                topK != null ? topK.intValue() : defaults.topK(),
                topP != null ? topP.floatValue() : defaults.topP(),
                minP != null ? minP.floatValue() : defaults.minP(),
                defaults.repeatPenalty(), defaults.repeatLastN(),
                // A negative seed draws one per request, so two requests without a seed differ.
                seed != null ? Math.max(-1, seed) : defaults.seed(),
                defaults.ignoreEos(),
                presence != null ? presence.floatValue() : defaults.presencePenalty(),
                frequency != null ? frequency.floatValue() : defaults.frequencyPenalty());
        return new Sampling(max != null ? max.intValue() : defaultMaxTokens, params, stop, stream, includeUsage);
    }
}
