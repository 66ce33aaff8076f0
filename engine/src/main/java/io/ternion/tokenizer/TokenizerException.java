package io.ternion.tokenizer;

/** Tokenizer data that cannot be used (inconsistent arrays, an unknown pre-tokenizer) or bad input text. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }
}
