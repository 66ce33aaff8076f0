package io.ternion.graph;

/**
 * How a {@link Op.Rope} stretches its angles past the context a model was trained on: the scaling
 * arguments of ggml's rope, as llama.cpp resolves them from the GGUF and its flags. Each pair i of
 * the rotated dims has the unscaled angle θ_ext = pos·base^(−2i/dims) (formed by ggml's float
 * recurrence) and the interpolated one θ_int = {@code freqScale}·θ_ext. Linear scaling (position
 * interpolation) uses θ_int for every pair. YaRN ({@code extFactor} &gt; 0) keeps θ_ext for the fast
 * pairs that turn many times within the original context, θ_int for the slow ones, and blends the
 * two in between by a ramp over the pairs [low, high] of {@link #correctionDims}; it also scales
 * cos and sin by {@link #mscale}, which sharpens attention over the longer context.
 *
 * @param freqScale       1/factor: 1 leaves the angles as they are
 * @param extFactor       the weight of θ_ext on the ramp: 0 is linear scaling, 1 is YaRN
 * @param attnFactor      cos and sin are multiplied by this (and, under YaRN, by 1 + 0.1·ln(1/freqScale))
 * @param betaFast        YaRN: pairs turning more than this many times in the original context keep θ_ext
 * @param betaSlow        YaRN: pairs turning fewer times than this use θ_int
 * @param originalContext YaRN: the context the model was trained on, which the turns are counted over
 */
public record RopeScaling(float freqScale, float extFactor, float attnFactor, float betaFast, float betaSlow, int originalContext) {
    /** No scaling: every backend computes exactly the plain RoPE. */
    public static final RopeScaling NONE = new RopeScaling(1f, 0f, 1f, 32f, 1f, 0);

    public RopeScaling {
        if (!(freqScale > 0) || !Float.isFinite(freqScale)) throw new IllegalArgumentException("rope freq scale must be positive, not " + freqScale);
        if (!(extFactor >= 0) || !Float.isFinite(extFactor)) throw new IllegalArgumentException("yarn ext factor must be >= 0, not " + extFactor);
        if (!(attnFactor > 0) || !Float.isFinite(attnFactor)) throw new IllegalArgumentException("yarn attn factor must be positive, not " + attnFactor);
        if (!Float.isFinite(betaFast) || !Float.isFinite(betaSlow)) throw new IllegalArgumentException("yarn betas must be finite");
        if (extFactor > 0 && originalContext < 1) throw new IllegalArgumentException("YaRN needs the original context length, not " + originalContext);
    }

    /** Linear scaling by {@code factor}: every angle divided by it. */
    public static RopeScaling linear(float factor) {
        return new RopeScaling(1f / factor, 0f, 1f, 32f, 1f, 0);
    }

    /** YaRN with the defaults llama.cpp uses (beta fast 32, beta slow 1, ext factor 1, attn factor 1). */
    public static RopeScaling yarn(float factor, int originalContext) {
        return new RopeScaling(1f / factor, 1f, 1f, 32f, 1f, originalContext);
    }

    public boolean isNone() { return freqScale == 1f && extFactor == 0f && attnFactor == 1f; }

    /**
     * The factor on cos and sin: {@code attnFactor}, times 1 + 0.1·ln(1/freqScale) under YaRN, in
     * float as ggml forms it.
     */
    public float mscale() {
        return extFactor != 0 ? attnFactor * (1f + 0.1f * (float) Math.log(1f / freqScale)) : attnFactor;
    }

    /**
     * YaRN's ramp over the pairs: the pair index where the ramp starts (pairs below keep θ_ext fully)
     * and where it ends (pairs above use θ_int). A pair turning r times over the original context
     * has index dims·ln(originalContext/(2π·r))/(2·ln base); the start is that for betaFast, floored,
     * the end that for betaSlow, ceiled, both within [0, dims − 1], in float as ggml computes them.
     * Without YaRN there is no ramp: {0, 0}.
     */
    public float[] correctionDims(int dims, float base) {
        if (extFactor == 0) return new float[] {0f, 0f}; // no ramp, and no original context to count over
        float low = (float) Math.floor(correctionDim(dims, base, betaFast));
        float high = (float) Math.ceil(correctionDim(dims, base, betaSlow));
        return new float[] {Math.max(0f, low), Math.min(dims - 1f, high)};
    }

    private float correctionDim(int dims, float base, float turns) {
        return dims * (float) Math.log(originalContext / (turns * 2 * (float) Math.PI)) / (2 * (float) Math.log(base));
    }

    /** The weight of θ_ext for pair {@code pair}: 1 below the ramp, 0 above it, linear between (times extFactor). */
    public static float ramp(float low, float high, int pair) {
        float y = (pair - low) / Math.max(0.001f, high - low);
        return 1f - Math.min(1f, Math.max(0f, y));
    }

    /** The angle of a pair whose unscaled angle is {@code thetaExtrap} (ggml's order of float operations). */
    public float angle(float thetaExtrap, float[] correctionDims, int pair) {
        float thetaInterp = freqScale * thetaExtrap;
        if (extFactor == 0) return thetaInterp;
        float mix = ramp(correctionDims[0], correctionDims[1], pair) * extFactor;
        return thetaInterp * (1 - mix) + thetaExtrap * mix;
    }
}
