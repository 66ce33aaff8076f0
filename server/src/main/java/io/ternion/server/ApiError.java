package io.ternion.server;

/**
 * An answer that is not a success, as OpenAI writes it: {@code {"error": {"message", "type", "param",
 * "code"}}} with its HTTP status. Its message goes to the client, so it is written for the client
 * and never carries another request's text.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;
    /** A header the status calls for (Allow with 405, Retry-After with 503), or null. */
    final String headerName, headerValue;

    private ApiError(int status, String type, String message, String param, String code, String headerName, String headerValue) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headerName = headerName;
        this.headerValue = headerValue;
    }

    static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null, null, null);
    }

    static ApiError badRequest(String message, String param, String code) {
        return new ApiError(400, "invalid_request_error", message, param, code, null, null);
    }

    static ApiError unauthorized(String message) {
        return new ApiError(401, "invalid_request_error", message, null, "invalid_api_key", null, null);
    }

    static ApiError notFound(String method, String path) {
        return new ApiError(404, "invalid_request_error", "Invalid URL (" + method + " " + path + ")", null, "not_found", null, null);
    }

    static ApiError methodNotAllowed(String method, String path, String allowed) {
        return new ApiError(405, "invalid_request_error", method + " is not allowed on " + path + "; use " + allowed,
                null, "method_not_allowed", "Allow", allowed);
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", "the request body is over the limit of " + limit + " bytes",
                null, "request_too_large", null, null);
    }

    /** Every slot busy and the queue full: the client should try again shortly. */
    static ApiError busy(int slots, int queue) {
        return new ApiError(503, "server_error", "the server is busy: all " + slots + " slots are generating and " + queue
                + " requests are waiting (the --queue limit); try again shortly", null, "server_busy", "Retry-After", "1");
    }

    static ApiError loading() {
        return new ApiError(503, "server_error", "the model is loading; try again shortly", null, "model_loading", "Retry-After", "1");
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, null, null, null);
    }
}
