package io.ternion.engine;

/** A model the engine cannot run: an unknown architecture, a missing or misshapen tensor, a bad setting. */
public final class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }
}
