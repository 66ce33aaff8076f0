package io.ternion.kernels.gpu;

/** An OpenCL call that failed, named with its CL_* error (and the build log for a failed build). */
public final class OpenClException extends RuntimeException {
    private final int status;

    public OpenClException(String message) {
        this(message, 0);
    }

    public OpenClException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** The CL_* status code, or 0 when the failure was not a status (no library, no device). */
    public int status() { return status; }
}
