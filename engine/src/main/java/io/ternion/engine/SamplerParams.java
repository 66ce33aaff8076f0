package io.ternion.engine;

/**
 * Sampling settings, with llama.cpp's defaults. {@code temperature <= 0} is greedy. A negative seed
 * picks one at random. {@code ignoreEos}: the end-of-text tokens are never chosen (llama.cpp's
 * {@code --ignore-eos}), so generation goes on to the token limit or a full context.
 * {@code presencePenalty} and {@code frequencyPenalty} are OpenAI's (llama.cpp's
 * {@code --presence-penalty}, {@code --frequency-penalty}): subtracted from the logit of each token
 * seen in the last {@code repeatLastN}, once and once per occurrence.
 */
public record SamplerParams(float temperature, int topK, float topP, float minP, float repeatPenalty,
                            int repeatLastN, long seed, boolean ignoreEos, float presencePenalty, float frequencyPenalty) {
    public SamplerParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed, boolean ignoreEos) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, ignoreEos, 0f, 0f);
    }

    public SamplerParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN, long seed) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, false);
    }

    public static final SamplerParams DEFAULTS = new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, -1);
    public static final SamplerParams GREEDY = new SamplerParams(0f, 40, 0.95f, 0.05f, 1.0f, 64, -1);

    public SamplerParams {
        if (topP < 0 || topP > 1) throw new IllegalArgumentException("--top-p must be in [0, 1], not " + topP);
        if (minP < 0 || minP > 1) throw new IllegalArgumentException("--min-p must be in [0, 1], not " + minP);
        if (repeatPenalty <= 0) throw new IllegalArgumentException("--repeat-penalty must be positive, not " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("--repeat-last-n must be >= 0, not " + repeatLastN);
        if (!Float.isFinite(presencePenalty)) throw new IllegalArgumentException("--presence-penalty must be finite, not " + presencePenalty);
        if (!Float.isFinite(frequencyPenalty)) throw new IllegalArgumentException("--frequency-penalty must be finite, not " + frequencyPenalty);
    }

    /** Whether the logits are changed before the pick: greedy without these takes the plain argmax. */
    public boolean penalizes() {
        return repeatLastN > 0 && (repeatPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f);
    }
}
