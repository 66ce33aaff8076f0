package io.ternion.engine;

/**
 * llama.cpp's RoPE flags, each over the model file's value when given (null: the file's):
 * {@code --rope-scaling}, {@code --rope-scale} (the factor), {@code --rope-freq-scale} (1/factor),
 * {@code --rope-freq-base}, {@code --yarn-orig-ctx} (0: the file's), {@code --yarn-ext-factor}
 * (negative: the type's default), {@code --yarn-attn-factor} (multiplies the file's),
 * {@code --yarn-beta-fast}, {@code --yarn-beta-slow} (these three negative: not given, as llama.cpp's
 * -1). Values that mean nothing are refused here, naming the flag.
 */
public record RopeOverrides(RopeScalingConfig.Type scaling, Float scale, Float freqScale, Float freqBase, Integer yarnOrigCtx,
                            Float yarnExtFactor, Float yarnAttnFactor, Float yarnBetaFast, Float yarnBetaSlow) {
    public static final RopeOverrides NONE = new RopeOverrides(null, null, null, null, null, null, null, null, null);

    public RopeOverrides {
        // llama.cpp's "not set" for these is -1: the file's value (or the default) stays.
        if (yarnAttnFactor != null && yarnAttnFactor < 0) yarnAttnFactor = null;
        if (yarnBetaFast != null && yarnBetaFast < 0) yarnBetaFast = null;
        if (yarnBetaSlow != null && yarnBetaSlow < 0) yarnBetaSlow = null;
        if (scale != null && freqScale != null) throw new IllegalArgumentException("give --rope-scale or --rope-freq-scale, not both (one is 1 over the other)");
        if (scale != null) factorInRange("--rope-scale", scale);
        if (freqScale != null) factorInRange("--rope-freq-scale", 1f / freqScale);
        if (freqBase != null && !(freqBase >= 0 && Float.isFinite(freqBase))) {
            throw new IllegalArgumentException("--rope-freq-base must be positive (0: the model's), not " + freqBase);
        }
        if (yarnOrigCtx != null && (yarnOrigCtx < 0 || yarnOrigCtx > ModelConfig.MAX_CONTEXT)) {
            throw new IllegalArgumentException("--yarn-orig-ctx must be 0 (the model's) to " + ModelConfig.MAX_CONTEXT + ", not " + yarnOrigCtx);
        }
        if (yarnExtFactor != null && !Float.isFinite(yarnExtFactor)) throw new IllegalArgumentException("--yarn-ext-factor must be a number, not " + yarnExtFactor);
        positive("--yarn-attn-factor", yarnAttnFactor);
        positive("--yarn-beta-fast", yarnBetaFast);
        positive("--yarn-beta-slow", yarnBetaSlow);
    }

    private static void positive(String flag, Float value) {
        if (value != null && !(value > 0 && Float.isFinite(value))) throw new IllegalArgumentException(flag + " must be positive, not " + value);
    }

    private static void factorInRange(String flag, float factor) {
        if (!(factor >= RopeScalingConfig.MIN_FACTOR && factor <= RopeScalingConfig.MAX_FACTOR)) {
            throw new IllegalArgumentException(flag + " gives a scaling factor of " + factor + "; Ternion takes "
                    + RopeScalingConfig.MIN_FACTOR + " to " + (int) RopeScalingConfig.MAX_FACTOR);
        }
    }
}
