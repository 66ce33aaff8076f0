package io.ternion.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ternion.engine.ModelException;
import io.ternion.engine.Scheduler;
import io.ternion.engine.Session;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * One chat or text completion: submitted to the scheduler, answered whole or streamed as
 * server-sent events. A client that goes away (a failed write, or Jetty noticing the connection
 * close) cancels the sequence, which frees its slot at the next step.
 */
final class Completion {
    /**
     * A request's tokens and settings, ready to submit.
     *
     * @param chat how to read a chat reply ({@code <think>}, tool calls); null when its text is the reply
     * @param body the request as sent (for {@link OpenAiServer#listenerSeam})
     */
    record Prompt(int[] ids, Sampling sampling, ChatRequest chat, com.fasterxml.jackson.databind.JsonNode body) {}

    /** The client hung up: nothing more can be sent. */
    static final class ClientGone extends RuntimeException {
        ClientGone(Throwable cause) {
            super(cause);
        }
    }

    /** Ends a stream's queue of text. */
    private static final Object END = new Object();

    private final OpenAiServer server;
    private final OpenAiServer.Ready ready;
    private final Request request;
    private final Response response;
    private final boolean chat;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;
    /** stream_options.include_usage: every chunk carries usage, null but in the last. */
    private boolean usageInChunks;
    private HangUpWatch watch;
    /** Completes once the listener has seen the sequence end. */
    private java.util.concurrent.CompletableFuture<Session.Result> ended;

    Completion(OpenAiServer server, OpenAiServer.Ready ready, Request request, Response response, boolean chat) {
        this.server = server;
        this.ready = ready;
        this.request = request;
        this.response = response;
        this.chat = chat;
        this.id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }

    void run(Prompt prompt) throws IOException, InterruptedException {
        Sampling s = prompt.sampling();
        String promptParam = chat ? "messages" : "prompt";
        Scheduler scheduler = ready.scheduler();
        if (prompt.ids().length >= scheduler.contextLength()) {
            throw ApiError.badRequest("the prompt is " + prompt.ids().length + " tokens but a slot's context holds " + scheduler.contextLength()
                    + " (the server's -c divided among its " + scheduler.slots() + " slots): shorten the prompt, or restart the server with a larger -c or a smaller -np",
                    promptParam, "context_length_exceeded");
        }
        if (!ready.admission().tryAcquire()) throw ApiError.busy(scheduler.slots(), ready.queue());
        Listener listener = new Listener(s, prompt.chat());
        Scheduler.Sequence sequence;
        try {
            Session.TokenListener heard = server.listenerSeam.wrap(prompt.body(), listener);
            sequence = scheduler.submit(new Scheduler.Request(prompt.ids(), s.maxTokens(), s.params(), heard));
        } catch (ModelException e) {
            ready.admission().release();
            throw ApiError.badRequest(e.getMessage(), promptParam);
        } catch (RuntimeException e) {
            ready.admission().release();
            throw e;
        }
        // A whole answer is built after this has run: get() on the sequence can return before it has.
        ended = sequence.result().whenComplete((result, error) -> {
            ready.admission().release();
            if (result != null) server.metrics().generation(result);
            listener.end();
        });
        Runnable hangUp = () -> {
            listener.abandoned = true;
            sequence.cancel();
        };
        request.addFailureListener(failure -> hangUp.run());
        watch = HangUpWatch.start(request, hangUp);
        try {
            if (s.stream()) stream(sequence, listener, prompt.ids().length);
            else whole(sequence, listener, prompt.ids().length);
        } catch (IOException | RuntimeException | InterruptedException e) {
            hangUp.run();
            throw e;
        } finally {
            stopWatching();
        }
    }

    /** Before the last write: Jetty must be free to read the connection's next request. */
    private void stopWatching() {
        if (watch == null) return;
        watch.stop();
        if (watch.readAhead() && !response.isCommitted()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
        watch = null;
    }

    private void whole(Scheduler.Sequence sequence, Listener listener, int promptTokens) throws IOException, InterruptedException {
        Session.Result result = result(sequence);
        ended.handle((r, e) -> null).join(); // the listener's end (held-back text, the parser's last parts) is in
        ObjectNode body = envelope(chat ? "chat.completion" : "text_completion");
        ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
        if (chat) message(choice.putObject("message").put("role", "assistant"), listener);
        else choice.put("text", listener.text.toString());
        choice.putNull("logprobs").put("finish_reason", finishReason(result, listener));
        body.set("usage", usage(promptTokens, result));
        stopWatching();
        try {
            ApiHandler.sendJson(response, 200, body);
        } catch (IOException e) {
            throw new ClientGone(e);
        }
    }

    /** A whole answer's message: its text, and its reasoning and tool calls when the reply had them. */
    private static void message(ObjectNode message, Listener listener) {
        if (listener.parser == null) {
            message.put("content", listener.text.toString());
            return;
        }
        StringBuilder content = new StringBuilder(), reasoning = new StringBuilder();
        List<ReplyParser.Call> calls = new ArrayList<>();
        for (ReplyParser.Part part : listener.parts) {
            switch (part) {
                case ReplyParser.Content c -> content.append(c.text());
                case ReplyParser.Reasoning r -> reasoning.append(r.text());
                case ReplyParser.Call c -> calls.add(c);
            }
        }
        // As OpenAI answers: no text beside tool calls is null, not "".
        if (content.isEmpty() && !calls.isEmpty()) message.putNull("content");
        else message.put("content", content.toString());
        if (!reasoning.isEmpty()) message.put("reasoning_content", reasoning.toString());
        if (calls.isEmpty()) return;
        ArrayNode list = message.putArray("tool_calls");
        for (ReplyParser.Call c : calls) {
            list.addObject().put("id", c.id()).put("type", "function")
                    .putObject("function").put("name", c.name()).put("arguments", c.arguments());
        }
    }

    private void stream(Scheduler.Sequence sequence, Listener listener, int promptTokens) throws InterruptedException {
        usageInChunks = listener.sampling.includeUsage();
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put("X-Accel-Buffering", "no"); // a proxy in front must not hold the stream back
        StringBuilder out = new StringBuilder();
        if (chat) {
            ObjectNode first = chunk();
            first.withArray("choices").addObject().put("index", 0).putNull("logprobs").putNull("finish_reason")
                    .putObject("delta").put("role", "assistant").put("content", "");
            event(out, first);
        }
        List<Object> batch = new ArrayList<>();
        try {
            while (true) {
                // Everything queued since the last write goes out in one write: a chunk per token, fewer syscalls.
                if (!out.isEmpty()) {
                    ApiHandler.write(response, false, out.toString());
                    out.setLength(0);
                }
                batch.clear();
                batch.add(listener.events.take());
                listener.events.drainTo(batch);
                boolean end = false;
                for (Object item : batch) {
                    switch (item) {
                        case String text -> event(out, delta(text, null));
                        case ReplyParser.Part part -> partEvents(out, part);
                        default -> end = true; // END
                    }
                }
                if (!end) continue;
                try {
                    Session.Result result = result(sequence);
                    event(out, delta(null, finishReason(result, listener)));
                    if (listener.sampling.includeUsage()) {
                        ObjectNode last = chunk();
                        last.putArray("choices");
                        last.set("usage", usage(promptTokens, result));
                        event(out, last);
                    }
                } catch (ApiError e) {
                    event(out, ApiHandler.errorBody(e));
                }
                out.append("data: [DONE]\n\n");
                stopWatching();
                ApiHandler.write(response, true, out.toString());
                return;
            }
        } catch (IOException e) {
            throw new ClientGone(e);
        }
    }

    /**
     * A parsed part as chunks: text as content, reasoning as reasoning_content, a tool call as
     * OpenAI streams one: its id, type and name first (arguments ""), then its arguments.
     */
    private void partEvents(StringBuilder out, ReplyParser.Part part) {
        switch (part) {
            case ReplyParser.Content c -> event(out, delta(c.text(), null));
            case ReplyParser.Reasoning r -> {
                ObjectNode chunk = delta(null, null);
                ((ObjectNode) chunk.get("choices").get(0).get("delta")).put("reasoning_content", r.text());
                event(out, chunk);
            }
            case ReplyParser.Call c -> {
                ObjectNode head = delta(null, null);
                ((ObjectNode) head.get("choices").get(0).get("delta")).putArray("tool_calls").addObject()
                        .put("index", c.index()).put("id", c.id()).put("type", "function")
                        .putObject("function").put("name", c.name()).put("arguments", "");
                event(out, head);
                ObjectNode arguments = delta(null, null);
                ((ObjectNode) arguments.get("choices").get(0).get("delta")).putArray("tool_calls").addObject()
                        .put("index", c.index()).putObject("function").put("arguments", c.arguments());
                event(out, arguments);
            }
        }
    }

    /** The sequence's end; a failure of the model (non-finite logits, a backend error) is a 500 that says what failed. */
    private static Session.Result result(Scheduler.Sequence sequence) throws InterruptedException {
        try {
            return sequence.await();
        } catch (ModelException e) {
            throw ApiError.internal("generation failed: " + e.getMessage());
        }
    }

    private ObjectNode envelope(String object) {
        return ApiHandler.JSON.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", server.settings().modelId());
    }

    private ObjectNode chunk() {
        ObjectNode chunk = envelope(chat ? "chat.completion.chunk" : "text_completion");
        chunk.putArray("choices");
        return chunk;
    }

    /** A chunk with new text (or, with a finish reason, the last chunk of the choice). */
    private ObjectNode delta(String text, String finishReason) {
        ObjectNode chunk = chunk();
        ObjectNode choice = chunk.withArray("choices").addObject().put("index", 0);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (text != null) delta.put("content", text);
        } else {
            choice.put("text", text != null ? text : "");
        }
        choice.putNull("logprobs").put("finish_reason", finishReason);
        return chunk;
    }

    private void event(StringBuilder out, ObjectNode json) {
        // With include_usage, OpenAI gives every chunk a usage field, null until the last.
        if (usageInChunks && json.has("choices") && !json.has("usage")) json.putNull("usage");
        out.append("data: ").append(json.toString()).append("\n\n");
    }

    private static ObjectNode usage(int promptTokens, Session.Result result) {
        int completion = result.tokens().length;
        return ApiHandler.JSON.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completion)
                .put("total_tokens", promptTokens + completion);
    }

    private static String finishReason(Session.Result result, Listener listener) {
        if (listener.parser != null && listener.parser.calledTools()) return "tool_calls";
        if (listener.matcher.matched()) return "stop";
        return switch (result.stop()) {
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case END_OF_TEXT, LISTENER, CANCELLED -> "stop";
        };
    }

    /**
     * Hears the tokens on the scheduler's thread: cuts at stop strings, and hands text to the
     * request's thread through a queue, never blocking. Returning false ends the sequence at once.
     */
    private static final class Listener implements Session.TokenListener {
        final Sampling sampling;
        final StopMatcher matcher;
        /** Null when the text is the reply as it is; else what splits it into content, reasoning and tool calls. */
        final ReplyParser parser;
        final StringBuilder text = new StringBuilder();
        /** A whole answer's parts, when parsed. */
        final List<ReplyParser.Part> parts = new ArrayList<>();
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        volatile boolean abandoned;

        Listener(Sampling sampling, ChatRequest chat) {
            this.sampling = sampling;
            this.matcher = new StopMatcher(sampling.stop());
            this.parser = chat != null ? chat.parser() : null;
            // The answer the prompt began (a required tool call's opening) is part of the reply to read.
            if (parser != null && !chat.answerPrefix().isEmpty()) deliver(parser.accept(chat.answerPrefix()));
        }

        @Override
        public boolean onToken(int id, String piece) {
            emit(matcher.accept(piece));
            return !matcher.matched() && !abandoned;
        }

        /** After the last token: what the stop strings held back, then the end. */
        void end() {
            if (!matcher.matched()) emit(matcher.flush());
            if (parser != null) deliver(parser.finish());
            if (sampling.stream()) events.add(END);
        }

        private void emit(String shown) {
            if (shown.isEmpty()) return;
            text.append(shown);
            if (parser != null) deliver(parser.accept(shown));
            else if (sampling.stream()) events.add(shown);
        }

        private void deliver(List<ReplyParser.Part> shown) {
            if (sampling.stream()) events.addAll(shown);
            else parts.addAll(shown);
        }
    }
}
