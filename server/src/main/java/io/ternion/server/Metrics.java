package io.ternion.server;

import io.ternion.engine.Session;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** The counters behind {@code GET /metrics}, in Prometheus's text format. */
final class Metrics {
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder promptTokens = new LongAdder(), evaluatedPromptTokens = new LongAdder(), generatedTokens = new LongAdder();
    private final LongAdder promptNanos = new LongAdder(), generationNanos = new LongAdder();

    /** One answered request: its route ({@code unknown} for no route) and status. */
    void request(String route, int status) {
        requests.computeIfAbsent("route=\"" + route + "\",status=\"" + status + "\"", k -> new LongAdder()).increment();
    }

    void generation(Session.Result r) {
        promptTokens.add(r.promptTokens());
        evaluatedPromptTokens.add(r.evaluatedPromptTokens());
        generatedTokens.add(r.tokens().length);
        promptNanos.add(r.promptNanos());
        generationNanos.add(r.generationNanos());
    }

    String render(int slotsBusy, int slots, int queued) {
        StringBuilder out = new StringBuilder();
        out.append("# HELP ternion_requests_total HTTP requests answered, by route and status.\n# TYPE ternion_requests_total counter\n");
        new TreeMap<>(requests).forEach((labels, n) -> out.append("ternion_requests_total{").append(labels).append("} ").append(n.sum()).append('\n'));
        counter(out, "ternion_prompt_tokens_total", "Prompt tokens of finished generations.", promptTokens.sum());
        counter(out, "ternion_prompt_tokens_evaluated_total", "Prompt tokens evaluated (the rest came from a slot's cached prefix).", evaluatedPromptTokens.sum());
        counter(out, "ternion_generated_tokens_total", "Tokens generated.", generatedTokens.sum());
        counter(out, "ternion_prompt_seconds_total", "Time spent reading prompts, summed over sequences.", promptNanos.sum() / 1e9);
        counter(out, "ternion_generation_seconds_total", "Time spent generating, summed over sequences.", generationNanos.sum() / 1e9);
        gauge(out, "ternion_prompt_tokens_per_second", "Prompt tokens evaluated per second of prompt time, per sequence.",
                evaluatedPromptTokens.sum() / Math.max(promptNanos.sum() / 1e9, 1e-9));
        gauge(out, "ternion_generation_tokens_per_second", "Tokens generated per second of generation time, per sequence (sequences share each pass, so the server's total is higher).",
                generatedTokens.sum() / Math.max(generationNanos.sum() / 1e9, 1e-9));
        gauge(out, "ternion_slots", "KV slots (-np).", slots);
        gauge(out, "ternion_slots_busy", "Slots generating now.", slotsBusy);
        gauge(out, "ternion_queue_length", "Requests waiting for a slot.", queued);
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, double value) {
        line(out, name, help, "counter", value);
    }

    private static void gauge(StringBuilder out, String name, String help, double value) {
        line(out, name, help, "gauge", value);
    }

    private static void line(StringBuilder out, String name, String help, String type, double value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        out.append(name).append(' ');
        if (value == Math.rint(value) && Math.abs(value) < 1e15) out.append((long) value);
        else out.append(String.format(Locale.ROOT, "%.6g", value));
        out.append('\n');
    }
}
