package io.ternion.engine;

import io.ternion.graph.RopeScaling;
import java.util.Locale;

/**
 * A model's RoPE scaling as llama.cpp settles it: from {@code {arch}.rope.scaling.*} in the file
 * ({@link ModelConfig#from}), then llama.cpp's flags over it ({@link #with(RopeOverrides)}), then
 * {@link #kernelScaling()} for the graph. The defaults are llama.cpp's: a file without the keys is
 * "linear" with factor 1 (no scaling); YaRN's ext factor is 1 and its betas 32 and 1; the
 * original context is the model's context length.
 *
 * <p>{@code {arch}.rope.scaling.finetuned} is only a note (llama.cpp reads it and uses it for
 * nothing), and {@code yarn_log_multiplier} is read by llama.cpp for DeepSeek-family
 * architectures only, none of which Ternion runs, so neither changes anything here.
 *
 * @param type            none, linear or yarn
 * @param factor          how many times the context is stretched (the angles divided by it); 1: not at all
 * @param originalContext the context the model was trained on, which YaRN's ramp and the scaled maximum count from
 * @param attnFactor      the file's {@code attn_factor} times {@code --yarn-attn-factor}: cos and sin are multiplied by it
 * @param extFactor       YaRN's blend of unscaled angles; negative: llama.cpp's default for the type (1 for yarn, else 0)
 */
public record RopeScalingConfig(Type type, float factor, int originalContext, float attnFactor, float extFactor, float betaFast, float betaSlow) {
    public enum Type {
        NONE, LINEAR, YARN;

        /** The type named as llama.cpp names it (none, linear, yarn), or null. */
        public static Type parse(String name) {
            return switch (name) {
                case "none" -> NONE;
                case "linear" -> LINEAR;
                case "yarn" -> YARN;
                default -> null;
            };
        }

        @Override
        public String toString() { return name().toLowerCase(Locale.ROOT); }
    }

    /** Bounds on the factor, far past any real model's (4 to 32), so that a scaled context stays an int. */
    static final float MIN_FACTOR = 1f / 64, MAX_FACTOR = 65536f;

    /** No scaling key in the file: llama.cpp's "linear" with factor 1. */
    static RopeScalingConfig unscaled(int contextLength) {
        return new RopeScalingConfig(Type.LINEAR, 1f, contextLength, 1f, -1f, 32f, 1f);
    }

    /** The flags over the file's values, as llama.cpp's context parameters override the model's. */
    public RopeScalingConfig with(RopeOverrides o) {
        float f = o.freqScale() != null ? 1f / o.freqScale() : o.scale() != null ? o.scale() : factor;
        return new RopeScalingConfig(
                o.scaling() != null ? o.scaling() : type,
                f,
                o.yarnOrigCtx() != null && o.yarnOrigCtx() > 0 ? o.yarnOrigCtx() : originalContext,
                o.yarnAttnFactor() != null ? attnFactor * o.yarnAttnFactor() : attnFactor,
                o.yarnExtFactor() != null ? o.yarnExtFactor() : extFactor,
                o.yarnBetaFast() != null ? o.yarnBetaFast() : betaFast,
                o.yarnBetaSlow() != null ? o.yarnBetaSlow() : betaSlow);
    }

    /** Whether positions past the original context are stretched into it. */
    public boolean stretches() {
        return type != Type.NONE && factor > 1;
    }

    /**
     * The longest context the model handles well: the trained one, or the original context times
     * the factor when scaling stretches it.
     */
    public int maxContext(int trainedContext) {
        if (!stretches()) return trainedContext;
        return (int) Math.min(ModelConfig.MAX_CONTEXT, Math.max(trainedContext, (long) Math.floor((double) originalContext * factor)));
    }

    /**
     * The rope's arguments, as llama.cpp hands them to ggml: type none never scales; YaRN's
     * magnitude 1 + 0.1·ln(factor) (which the rope applies whenever the ext factor is not 0) is
     * cancelled when the factor does not stretch, as llama.cpp cancels it since its PR 17945.
     */
    public RopeScaling kernelScaling() {
        float freqScale = type == Type.NONE ? 1f : 1f / factor;
        float ext = extFactor >= 0 ? extFactor : type == Type.YARN ? 1f : 0f;
        float attn = attnFactor;
        if (ext != 0 && freqScale > 1) attn /= 1f + 0.1f * (float) Math.log(1f / freqScale);
        return new RopeScaling(freqScale, ext, attn, betaFast, betaSlow, originalContext);
    }

    /** Whether the rope is scaled at all (a stretch, or an attn_factor or ext factor of its own). */
    public boolean scales() {
        return stretches() || !kernelScaling().isNone();
    }

    /** For the load line: "yarn ×4 of 32768", or "none". */
    @Override
    public String toString() {
        if (!scales()) return "none";
        return String.format(Locale.ROOT, "%s ×%s of %d", type, factor == (int) factor ? Integer.toString((int) factor) : Float.toString(factor),
                originalContext);
    }
}
