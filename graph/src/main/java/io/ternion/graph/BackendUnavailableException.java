package io.ternion.graph;

/**
 * A backend that cannot run here or stopped working: no library or device, not enough device
 * memory, a program that failed to build, a kernel that failed. {@code auto} answers it by running
 * on the CPU backend; an explicitly chosen backend reports it.
 */
public final class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
