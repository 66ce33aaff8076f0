package io.ternion.engine;

import io.ternion.graph.Batch;
import io.ternion.graph.CompiledModel;
import io.ternion.tokenizer.StreamingDecoder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Many generations over one model at once (continuous batching, as llama-server does it). Each
 * {@link #step} runs one {@link Batch}: every decoding sequence's next token, then chunks of the
 * prompts being read in, so one pass over the weights serves them all. A sequence is admitted into
 * a free KV slot (the one whose cached tokens share the longest prefix with its prompt, which is
 * then not evaluated again), samples with its own {@link Sampler} and seed, and frees its slot when
 * it ends: end of text, its token limit, a full slot, its listener, or {@link Sequence#cancel}.
 * While any sequence is decoding, a step takes at most {@code promptChunk} prompt tokens, so a long
 * prompt delays the others by a short step rather than a whole prompt's pass.
 *
 * <p>Steps run on one thread: the caller's ({@link #step}, {@link #runUntilIdle}) or the
 * scheduler's own ({@link #start}). {@link #submit} and {@link Sequence#cancel} may be called from
 * any thread; listeners are called on the stepping thread. A {@link Session} on the same model must
 * not be used while a scheduler is.
 */
public final class Scheduler implements AutoCloseable {
    /** Prompt tokens per step while other sequences are decoding, by default. */
    public static final int DEFAULT_PROMPT_CHUNK = 64;

    /** One generation: its whole prompt, at most {@code maxTokens} new tokens (negative: no limit), how to sample, and who hears the tokens. */
    public record Request(int[] prompt, int maxTokens, SamplerParams params, Session.TokenListener listener) {}

    private final Model model;
    private final CompiledModel cm;
    private final int vocab, context, promptChunk;
    /** The tokens each slot's KV cache holds, valid for the next occupant's prefix. */
    private final int[][] cachedTokens;
    private final int[] cachedLength;
    private final Sequence[] occupant;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Active sequences in admission order: the order their prompts are read. */
    private final List<Sequence> active = new ArrayList<>();
    private final float[] logits, row;
    private final Object lock = new Object();
    private Thread thread;
    private volatile boolean closed;
    /** Slots holding a sequence, for readers on other threads (a server's metrics). */
    private volatile int busy;
    private int rotation;
    /** Tokens a context shift keeps at the start of a sequence; negative: no shift (llama-server's default). */
    private volatile int shiftKeep = -1;

    public Scheduler(Model model) {
        this(model, DEFAULT_PROMPT_CHUNK);
    }

    public Scheduler(Model model, int promptChunk) {
        this.model = model;
        this.cm = model.compiled();
        this.vocab = model.config().vocabSize();
        this.context = cm.contextLength();
        this.promptChunk = Math.max(1, Math.min(promptChunk, cm.maxBatch()));
        int slots = cm.slots();
        this.cachedTokens = new int[slots][context];
        this.cachedLength = new int[slots];
        this.occupant = new Sequence[slots];
        this.logits = new float[Math.multiplyExact(Math.min(slots, cm.maxBatch()), vocab)];
        this.row = new float[vocab];
    }

    /**
     * llama-server's {@code --context-shift}: a sequence that fills its slot keeps its first
     * {@code keep} tokens (at most its prompt), drops half of the rest and goes on, instead of
     * ending with {@link Session.StopReason#CONTEXT_FULL}. Negative: off, as by default.
     */
    public void contextShift(int keep) {
        shiftKeep = keep;
    }

    /** Sequences that can generate at once: the model's KV slots. */
    public int slots() { return occupant.length; }

    /** Positions each sequence may fill: its slot's context. */
    public int contextLength() { return context; }

    /** Slots holding a sequence now (from any thread; a moment's reading). */
    public int busySlots() { return busy; }

    /** Sequences submitted and waiting for a free slot (from any thread; a moment's reading). */
    public int waitingCount() {
        synchronized (lock) {
            return waiting.size();
        }
    }

    /**
     * Queues a generation; it starts at a later step, when a slot is free. Throws a
     * {@link ModelException} at once for a prompt that cannot run (empty, outside the vocabulary,
     * or as long as a slot's context).
     */
    public Sequence submit(Request request) {
        int[] prompt = request.prompt();
        if (prompt.length == 0) throw new ModelException("the prompt is empty (not even a BOS token)");
        if (prompt.length >= context) {
            throw new ModelException("the prompt is " + prompt.length + " tokens but a sequence's context holds " + context
                    + " (raise -c, lower --parallel, or shorten the prompt)");
        }
        for (int id : prompt) if (id < 0 || id >= vocab) throw new ModelException("token id " + id + " is outside the vocabulary");
        Sequence s = new Sequence(request);
        synchronized (lock) {
            if (closed) throw new IllegalStateException("the scheduler is closed");
            waiting.add(s);
            lock.notifyAll();
        }
        return s;
    }

    /** Runs one batch; false when there was nothing to run. */
    public boolean step() {
        admit();
        if (active.isEmpty()) return false;
        List<Sequence> rows = new ArrayList<>();
        List<Sequence> outputs = new ArrayList<>();
        int budget = cm.maxBatch();
        int n = 0;
        int[] tokens = new int[budget], positions = new int[budget], slots = new int[budget];
        boolean[] wanted = new boolean[budget];
        boolean decoding = false;
        // Sequences with one token to go (decoding) first, one token each (in turn from a rotating start, should there be more than fit).
        int count = active.size();
        for (int i = 0; i < count && n < budget; i++) {
            Sequence s = active.get((rotation + i) % count);
            if (!s.oneToGo()) continue;
            decoding = true;
            tokens[n] = s.history[s.length - 1];
            positions[n] = s.evaluated;
            slots[n] = s.slot;
            wanted[n] = true;
            n++;
            rows.add(s);
            outputs.add(s);
        }
        rotation++;
        int promptBudget = decoding ? Math.min(promptChunk, budget - n) : budget - n;
        for (Sequence s : active) {
            if (s.oneToGo() || promptBudget == 0) continue;
            int take = Math.min(promptBudget, s.length - s.evaluated);
            for (int i = 0; i < take; i++) {
                tokens[n] = s.history[s.evaluated + i];
                positions[n] = s.evaluated + i;
                slots[n] = s.slot;
                wanted[n] = s.evaluated + i == s.length - 1;
                n++;
                rows.add(s);
            }
            if (wanted[n - 1]) outputs.add(s);
            promptBudget -= take;
        }
        Batch batch = new Batch(Arrays.copyOf(tokens, n), Arrays.copyOf(positions, n), Arrays.copyOf(slots, n), Arrays.copyOf(wanted, n));
        try {
            cm.forward(batch, logits);
        } catch (RuntimeException e) {
            for (Sequence s : List.copyOf(active)) finish(s, null, e);
            return true;
        }
        for (int i = 0; i < n; i++) rows.get(i).evaluated = positions[i] + 1;
        for (int j = 0; j < outputs.size(); j++) {
            System.arraycopy(logits, j * vocab, row, 0, vocab);
            next(outputs.get(j));
        }
        return true;
    }

    /** Steps until no sequence is waiting or running. */
    public void runUntilIdle() {
        while (step()) {
            // each step is a batch
        }
    }

    /** Steps on a thread of the scheduler's own until {@link #close}, sleeping while there is nothing to do. */
    public void start() {
        synchronized (lock) {
            if (thread != null) return;
            thread = Thread.ofPlatform().name("ternion-scheduler").daemon().start(() -> {
                while (!closed) {
                    boolean stepped;
                    try {
                        stepped = step();
                    } catch (RuntimeException e) {
                        // A bug here must not leave callers waiting on sequences no thread steps.
                        for (Sequence s : List.copyOf(active)) finish(s, null, e);
                        continue;
                    }
                    if (!stepped) {
                        synchronized (lock) {
                            while (!closed && waiting.isEmpty() && active.isEmpty()) {
                                try {
                                    lock.wait();
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        }
                    }
                }
            });
        }
    }

    /** Stops the scheduler's thread; sequences still waiting or running end as cancelled. */
    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            t = thread;
        }
        if (t != null) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lock) {
            for (Sequence s : waiting) s.future.complete(s.result(Session.StopReason.CANCELLED));
            waiting.clear();
        }
        for (Sequence s : List.copyOf(active)) finish(s, Session.StopReason.CANCELLED, null);
    }

    /** Ends cancelled sequences and moves waiting ones into free slots. */
    private void admit() {
        for (Sequence s : List.copyOf(active)) if (s.cancelled) finish(s, Session.StopReason.CANCELLED, null);
        synchronized (lock) {
            waiting.removeIf(s -> {
                if (s.cancelled) s.future.complete(s.result(Session.StopReason.CANCELLED));
                return s.cancelled;
            });
            while (!waiting.isEmpty()) {
                Sequence s = waiting.peek();
                int slot = bestFreeSlot(s.history, s.promptLength);
                if (slot < 0) break;
                waiting.poll();
                // Reuse the slot's cached prefix; the last prompt token is always evaluated again, for its logits.
                int keep = 0, max = Math.min(cachedLength[slot], s.promptLength - 1);
                while (keep < max && cachedTokens[slot][keep] == s.history[keep]) keep++;
                s.slot = slot;
                s.evaluated = s.reused = keep;
                s.started = System.nanoTime();
                cachedLength[slot] = keep;
                occupant[slot] = s;
                active.add(s);
                busy = active.size();
            }
        }
    }

    /** The free slot whose cached tokens share the longest prefix with the prompt (the lowest on ties), or −1. */
    private int bestFreeSlot(int[] prompt, int length) {
        int best = -1, bestShared = -1;
        for (int slot = 0; slot < occupant.length; slot++) {
            if (occupant[slot] != null) continue;
            int shared = 0, max = Math.min(cachedLength[slot], length);
            while (shared < max && cachedTokens[slot][shared] == prompt[shared]) shared++;
            if (shared > bestShared) {
                best = slot;
                bestShared = shared;
            }
        }
        return best;
    }

    /** A sequence's next token from its logits (in {@link #row}), as {@link Session#generate} takes it. */
    private void next(Sequence s) {
        if (s.firstLogits == 0) s.firstLogits = System.nanoTime();
        if (!CompiledModel.allFinite(row)) {
            finish(s, null, model.nonFinite(s.evaluated - 1));
            return;
        }
        Request r = s.request;
        if (r.maxTokens() >= 0 && s.generated >= r.maxTokens()) {
            finish(s, Session.StopReason.MAX_TOKENS, null);
            return;
        }
        if (r.params().ignoreEos()) model.maskStopTokens(row);
        int id = s.sampler.sample(row, s.history, s.length);
        if (model.isStopToken(id)) {
            finish(s, Session.StopReason.END_OF_TEXT, null);
            return;
        }
        if (s.generated == s.out.length) s.out = Arrays.copyOf(s.out, 2 * s.out.length);
        s.out[s.generated++] = id;
        String piece = s.decoder.next(id);
        s.text.append(piece);
        boolean goOn;
        try {
            goOn = r.listener().onToken(id, piece);
        } catch (RuntimeException e) {
            finish(s, null, e); // a listener's failure ends its own sequence, not the others'
            return;
        }
        if (!goOn) {
            finish(s, Session.StopReason.LISTENER, null);
            return;
        }
        if (s.length >= context) {
            boolean shifted;
            try {
                shifted = shift(s);
            } catch (RuntimeException e) {
                finish(s, null, e);
                return;
            }
            if (!shifted) {
                finish(s, Session.StopReason.CONTEXT_FULL, null);
                return;
            }
        }
        s.history[s.length++] = id;
    }

    /**
     * llama-server's context shift of a sequence that filled its slot (all of it evaluated): its
     * first tokens stay, half of the rest are dropped and the slot's cache shifted over the gap.
     * False when it is off or nothing can be dropped.
     */
    private boolean shift(Sequence s) {
        int kept = Math.min(shiftKeep, s.promptLength), drop = shiftKeep < 0 ? 0 : (s.length - kept) / 2;
        if (drop < 1) return false;
        cm.shift(s.slot, kept, drop, s.length);
        System.arraycopy(s.history, kept + drop, s.history, kept, s.length - kept - drop);
        s.length -= drop;
        s.evaluated -= drop;
        s.shiftedOut += drop;
        return true;
    }

    /** Frees the sequence's slot (its evaluated tokens stay cached there) and completes it with a result or an error. */
    private void finish(Sequence s, Session.StopReason stop, RuntimeException error) {
        active.remove(s);
        busy = active.size();
        occupant[s.slot] = null;
        int valid = Math.min(s.evaluated, s.length);
        System.arraycopy(s.history, 0, cachedTokens[s.slot], 0, valid);
        cachedLength[s.slot] = error != null ? 0 : valid;
        if (error != null) {
            s.future.completeExceptionally(error);
            return;
        }
        String rest = s.decoder.flush();
        if (!rest.isEmpty()) {
            s.text.append(rest);
            try {
                s.request.listener().onToken(-1, rest);
            } catch (RuntimeException e) {
                s.future.completeExceptionally(e);
                return;
            }
        }
        s.future.complete(s.result(stop));
    }

    /** A submitted generation: its progress and its end. */
    public final class Sequence {
        private final Request request;
        private final Sampler sampler;
        private final StreamingDecoder decoder;
        private final int[] history;
        private final int promptLength;
        private int[] out;
        private final StringBuilder text = new StringBuilder();
        private final CompletableFuture<Session.Result> future = new CompletableFuture<>();
        private volatile boolean cancelled;
        private int slot = -1, length, evaluated, generated, reused, shiftedOut;
        private long started, firstLogits;

        private Sequence(Request request) {
            this.request = request;
            this.sampler = new Sampler(request.params());
            this.history = Arrays.copyOf(request.prompt(), context);
            this.promptLength = request.prompt().length;
            this.length = promptLength;
            int max = request.maxTokens() < 0 ? context : Math.min(request.maxTokens(), context);
            this.out = new int[Math.max(1, max)];
            this.decoder = model.tokenizer().newDecoder();
            // A prompt with text in it is continued, so the first token's space stays (only BOS: nothing to continue).
            for (int id : request.prompt()) {
                if (model.tokenizer().tokenBytes(id, false).length > 0) {
                    decoder.continuing();
                    break;
                }
            }
        }

        /** Stops it at the next step (or keeps it from starting); its result says {@code CANCELLED}. */
        public void cancel() {
            cancelled = true;
            synchronized (lock) {
                lock.notifyAll();
            }
        }

        public boolean isDone() { return future.isDone(); }

        /** The seed its sampler uses (drawn when the request gave none). */
        public long seed() { return sampler.seed(); }

        /** Waits for the end; a failure (non-finite logits, a backend error) is thrown as it was raised. */
        public Session.Result await() throws InterruptedException {
            try {
                return future.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new IllegalStateException(e.getCause());
            }
        }

        /** The same end as {@link #await}, for callers that compose futures. */
        public CompletableFuture<Session.Result> result() { return future; }

        /** Whether one token is left to evaluate: it decodes (or reads the last token of its prompt) this step. */
        private boolean oneToGo() { return evaluated == length - 1; }

        private Session.Result result(Session.StopReason stop) {
            long end = System.nanoTime();
            long prompt = firstLogits == 0 ? 0 : firstLogits - started, generation = firstLogits == 0 ? 0 : end - firstLogits;
            return new Session.Result(Arrays.copyOf(out, generated), text.toString(), stop, promptLength,
                    promptLength - reused, prompt, generation, shiftedOut);
        }
    }
}
