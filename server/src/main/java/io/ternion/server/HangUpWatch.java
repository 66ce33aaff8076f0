package io.ternion.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * Notices a client that hangs up while its answer is being generated. Jetty reads an HTTP/1.1
 * connection only while a request body is being read, so a client that closes the connection while
 * it waits for a whole (not streamed) answer goes unnoticed until the answer is written: its
 * sequence would hold a slot to the end. This asks the socket to say when it becomes readable
 * (which, with no request pipelined behind this one, only the client closing makes it) and reads
 * one byte to tell a close from data.
 */
final class HangUpWatch implements Callback {
    private final AbstractEndPoint endPoint;
    private final Runnable onHangUp;
    private volatile boolean stopped;
    /** A byte of a pipelined next request was read (and lost): the answer closes the connection, so the client sends that request again. */
    private volatile boolean readAhead;

    private HangUpWatch(AbstractEndPoint endPoint, Runnable onHangUp) {
        this.endPoint = endPoint;
        this.onHangUp = onHangUp;
    }

    /** Starts watching the request's connection; null when it cannot be watched (then only a failed write tells). */
    static HangUpWatch start(Request request, Runnable onHangUp) {
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!(endPoint instanceof AbstractEndPoint socket)) return null;
        HangUpWatch watch = new HangUpWatch(socket, onHangUp);
        return socket.tryFillInterested(watch) ? watch : null;
    }

    @Override
    public void succeeded() {
        if (stopped) return;
        try {
            ByteBuffer one = BufferUtil.allocate(1);
            int n = endPoint.fill(one);
            if (n < 0) onHangUp.run();
            else if (n > 0) readAhead = true;
            else endPoint.tryFillInterested(this);
        } catch (IOException e) {
            onHangUp.run();
        }
    }

    @Override
    public void failed(Throwable cause) {
        if (!stopped) onHangUp.run();
    }

    /** Stops watching before the answer is written, so that Jetty can read the connection's next request itself. */
    void stop() {
        stopped = true;
        endPoint.getFillInterest().onFail(new CancellationException("the answer is ready"));
    }

    boolean readAhead() { return readAhead; }
}
