package io.ternion.engine;

import io.ternion.graph.CompiledModel;
import io.ternion.tokenizer.StreamingDecoder;
import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * Generation over a model's KV cache. The cache keeps the tokens already evaluated; a new request
 * reuses the longest common prefix with them (so a chat turn evaluates only what is new) and
 * evaluates the rest as a batch.
 */
public final class Session {
    /** Called with each generated token and the text it completes; return false to stop. */
    @FunctionalInterface
    public interface TokenListener {
        boolean onToken(int id, String text);
    }

    /**
     * Told how far a prompt's evaluation has got: tokens evaluated of those to evaluate (the cached
     * prefix aside), once with 0 before the first batch and once after each batch; a cancelled prompt
     * ends with {@code done == total} as well.
     */
    @FunctionalInterface
    public interface PromptProgress {
        void evaluated(int done, int total);
    }

    public enum StopReason { END_OF_TEXT, MAX_TOKENS, CONTEXT_FULL, LISTENER, CANCELLED }

    /** What a call generated and how long it took; {@code shiftedOut}: tokens context shifts dropped meanwhile. */
    public record Result(int[] tokens, String text, StopReason stop, int promptTokens, int evaluatedPromptTokens,
                         long promptNanos, long generationNanos, int shiftedOut) {
        public double promptTokensPerSecond() { return evaluatedPromptTokens / Math.max(promptNanos / 1e9, 1e-9); }
        public double generationTokensPerSecond() { return Math.max(0, tokens.length - 1) / Math.max(generationNanos / 1e9, 1e-9); }
    }

    private final Model model;
    private final float[] logits;
    private int[] cached = new int[0];
    private PromptProgress promptProgress = (done, total) -> { };
    /** Tokens a context shift keeps at the start; negative: no shift, a full context ends generation. */
    private int shiftKeep = -1;

    Session(Model model) {
        this.model = model;
        this.logits = new float[model.config().vocabSize()];
    }

    /** Reports prompt evaluation to {@code p} (for a progress bar on long prompts); the last call has {@code done == total}. */
    public void onPromptProgress(PromptProgress p) {
        promptProgress = p;
    }

    /** Tokens currently in the KV cache. */
    public int position() { return cached.length; }

    /** The tokens the KV cache holds, in order: after a context shift, what was kept of the prompt and the answer. */
    public int[] cachedTokens() { return cached.clone(); }

    /** Positions the KV cache holds. */
    public int contextLength() { return model.compiled().contextLength(); }

    /**
     * llama.cpp's context shift for later {@link #generate} calls: when generation fills the
     * context, the first {@code keep} tokens stay (at most the prompt: llama.cpp's {@code n_keep}),
     * half of the rest after them are dropped, the cache is shifted over the gap
     * ({@link CompiledModel#shift}) and generation goes on. Negative: off, and a full context ends
     * generation with {@link StopReason#CONTEXT_FULL}, as by default.
     */
    public void contextShift(int keep) {
        shiftKeep = keep;
    }

    /** Throws a {@link ModelException} saying why {@code prompt} cannot be evaluated, if it cannot. */
    public void checkPrompt(int[] prompt) {
        int ctx = model.compiled().contextLength();
        if (prompt.length == 0) throw new ModelException("the prompt is empty (not even a BOS token)");
        if (prompt.length >= ctx) {
            throw new ModelException("the prompt is " + prompt.length + " tokens but the context holds " + ctx
                    + " (raise -c, or shorten the prompt)");
        }
        for (int id : prompt) {
            if (id < 0 || id >= model.config().vocabSize()) throw new ModelException("token id " + id + " is outside the vocabulary");
        }
    }

    /** NaN or infinite logits are an error naming the tensor at fault, never a token: greedy steps say so with −1. */
    private void checkFinite(boolean argmaxOnly, int next, int position) {
        if (argmaxOnly ? next < 0 : !CompiledModel.allFinite(logits)) throw model.nonFinite(position);
    }

    /**
     * Evaluates {@code prompt} (the whole context: earlier turns included) and generates up to
     * {@code maxTokens} tokens (negative: until end of text or a full context).
     */
    public Result generate(int[] prompt, int maxTokens, SamplerParams params, TokenListener listener) {
        return generate(prompt, maxTokens, params, listener, null);
    }

    /** Prompt tokens evaluated between two looks at a cancel request: about a second of a 2B model's prompt on two cores. */
    static final int CANCELLABLE_CHUNK = 64;

    /**
     * As {@link #generate(int[], int, SamplerParams, TokenListener)}, stopping with
     * {@link StopReason#CANCELLED} once {@code cancelled} says so: between prompt chunks of at most
     * {@value #CANCELLABLE_CHUNK} tokens (chat's Ctrl-C while a long prompt is read) or after a token.
     * A prompt stopped half way leaves what was evaluated of it in the cache, for the next call to reuse.
     */
    public Result generate(int[] prompt, int maxTokens, SamplerParams params, TokenListener listener, BooleanSupplier cancelled) {
        CompiledModel cm = model.compiled();
        int ctx = cm.contextLength();
        checkPrompt(prompt);
        // Reuse the cached prefix; always re-evaluate at least the last prompt token to get its logits.
        int keep = 0;
        while (keep < cached.length && keep < prompt.length - 1 && cached[keep] == prompt[keep]) keep++;

        cached = Arrays.copyOf(prompt, keep); // all that stays valid while the rest is rewritten
        long t0 = System.nanoTime();
        // Plain greedy needs only the argmax, which a GPU backend finds without sending the logits back.
        boolean argmaxOnly = params.temperature() <= 0 && !params.penalizes() && !params.ignoreEos();
        int next = -1;
        int batch = cancelled == null ? cm.maxBatch() : Math.min(cm.maxBatch(), CANCELLABLE_CHUNK);
        promptProgress.evaluated(0, prompt.length - keep);
        for (int pos = keep; pos < prompt.length; pos += batch) {
            if (cancelled != null && cancelled.getAsBoolean()) {
                cached = Arrays.copyOf(prompt, pos);
                promptProgress.evaluated(prompt.length - keep, prompt.length - keep); // the end of it: a bar is wiped
                return new Result(new int[0], "", StopReason.CANCELLED, prompt.length, pos - keep, System.nanoTime() - t0, 0, 0);
            }
            int[] chunk = Arrays.copyOfRange(prompt, pos, Math.min(prompt.length, pos + batch));
            if (argmaxOnly) next = cm.forwardArgmax(chunk, pos, logits);
            else cm.forward(chunk, pos, logits);
            promptProgress.evaluated(pos + chunk.length - keep, prompt.length - keep);
        }
        checkFinite(argmaxOnly, next, prompt.length - 1);
        long t1 = System.nanoTime();
        int[] history = Arrays.copyOf(prompt, ctx);
        int len = prompt.length;
        cached = prompt.clone();

        Sampler sampler = new Sampler(params);
        StreamingDecoder decoder = model.tokenizer().newDecoder();
        // A prompt with text in it is continued, so the first token's space stays (only BOS: nothing to continue).
        for (int id : prompt) {
            if (model.tokenizer().tokenBytes(id, false).length > 0) {
                decoder.continuing();
                break;
            }
        }
        StringBuilder text = new StringBuilder();
        int[] out = new int[Math.max(16, Math.min(maxTokens < 0 ? ctx : maxTokens, ctx))];
        int generated = 0, shiftedOut = 0;
        StopReason stop;
        try {
            while (true) {
                if (maxTokens >= 0 && generated >= maxTokens) { stop = StopReason.MAX_TOKENS; break; }
                if (params.ignoreEos()) model.maskStopTokens(logits);
                int id = argmaxOnly ? next : sampler.sample(logits, history, len);
                if (model.isStopToken(id)) { stop = StopReason.END_OF_TEXT; break; }
                if (generated == out.length) out = Arrays.copyOf(out, out.length * 2);
                out[generated++] = id;
                String piece = decoder.next(id);
                text.append(piece);
                if (!listener.onToken(id, piece)) { stop = StopReason.LISTENER; break; }
                if (cancelled != null && cancelled.getAsBoolean()) { stop = StopReason.CANCELLED; break; }
                if (len >= ctx) {
                    int kept = Math.min(shiftKeep, prompt.length), drop = shiftKeep < 0 ? 0 : (len - kept) / 2;
                    if (drop < 1) { stop = StopReason.CONTEXT_FULL; break; }
                    cm.shift(0, kept, drop, len);
                    System.arraycopy(history, kept + drop, history, kept, len - kept - drop);
                    len -= drop;
                    shiftedOut += drop;
                }
                history[len] = id;
                if (argmaxOnly) next = cm.forwardArgmax(new int[] {id}, len, logits);
                else cm.forward(new int[] {id}, len, logits);
                checkFinite(argmaxOnly, next, len);
                len++;
            }
        } finally {
            cached = Arrays.copyOf(history, len);
        }
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            text.append(rest);
            listener.onToken(-1, rest);
        }
        return new Result(Arrays.copyOf(out, generated), text.toString(), stop, prompt.length, prompt.length - keep,
                t1 - t0, System.nanoTime() - t1, shiftedOut);
    }
}
