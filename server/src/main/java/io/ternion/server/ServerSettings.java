package io.ternion.server;

import io.ternion.engine.SamplerParams;

/**
 * How {@code ternion serve} listens and what a request gets when it leaves a field out.
 *
 * @param host             the address to bind (loopback by default: reaching it from elsewhere is a choice)
 * @param port             0 picks a free port
 * @param apiKey           the bearer token every route but {@code /health} requires; null for none
 * @param queue            requests that may wait for a free slot beyond those generating; −1: 4 per slot
 * @param timeoutSeconds   how long a connection may sit idle (a long queue wait, a slow client) before it is closed
 * @param maxBodyBytes     the largest request body; bigger ones get 413
 * @param modelId          the name {@code /v1/models} gives and responses carry in {@code model}
 * @param defaults         sampling for fields a request leaves out; a negative seed draws one per request
 * @param defaultMaxTokens tokens to generate when a request gives no limit; −1: until end of text or a full slot
 */
public record ServerSettings(String host, int port, String apiKey, int queue, int timeoutSeconds, long maxBodyBytes,
                             String modelId, SamplerParams defaults, int defaultMaxTokens) {
    public static final long DEFAULT_MAX_BODY_BYTES = 8L << 20;
    public static final int DEFAULT_TIMEOUT_SECONDS = 600;

    public ServerSettings {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be from 0 to 65535, not " + port);
        if (queue < -1) throw new IllegalArgumentException("--queue must be >= 0 (or -1 for 4 per slot), not " + queue);
        if (timeoutSeconds <= 0) throw new IllegalArgumentException("--timeout must be positive, not " + timeoutSeconds);
        if (maxBodyBytes <= 0) throw new IllegalArgumentException("the body limit must be positive, not " + maxBodyBytes);
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("--api-key must not be empty");
        if (defaultMaxTokens < -1) throw new IllegalArgumentException("-n must be >= -1, not " + defaultMaxTokens);
    }

    /** Loopback, an OS-chosen port, no key, the usual limits: for tests and embedding. */
    public static ServerSettings local(String modelId, SamplerParams defaults) {
        return new ServerSettings("127.0.0.1", 0, null, -1, DEFAULT_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES, modelId, defaults, -1);
    }

    public ServerSettings withApiKey(String key) {
        return new ServerSettings(host, port, key, queue, timeoutSeconds, maxBodyBytes, modelId, defaults, defaultMaxTokens);
    }

    public ServerSettings withQueue(int requests) {
        return new ServerSettings(host, port, apiKey, requests, timeoutSeconds, maxBodyBytes, modelId, defaults, defaultMaxTokens);
    }
}
