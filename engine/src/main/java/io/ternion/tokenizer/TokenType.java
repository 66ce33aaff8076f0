package io.ternion.tokenizer;

/** The values of {@code tokenizer.ggml.token_type} (llama.cpp's {@code llama_token_type}). */
public final class TokenType {
    private TokenType() {}

    public static final int UNDEFINED = 0, NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
}
