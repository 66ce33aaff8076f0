package io.ternion.server;

import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.Scheduler;
import io.ternion.engine.Session;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Semaphore;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * {@code ternion serve}: an OpenAI-compatible HTTP server over one {@link Scheduler}. It listens
 * before the model is loaded ({@code /health} says {@code loading} until {@link #serve} is called),
 * as llama-server does, so a supervisor can tell a slow load from a dead process.
 *
 * <p>Jetty's core handler API runs each request on a virtual thread, so a request simply blocks
 * while it waits for a slot or the next token; the scheduler's thread never touches a socket (its
 * listeners hand text over through a queue), so a slow client cannot stall the others.
 */
public final class OpenAiServer implements AutoCloseable {
    /** What requests run on once the model is loaded. */
    record Ready(Model model, Scheduler scheduler, ChatFormat format, Semaphore admission, int queue) {}

    private final ServerSettings settings;
    private final Server jetty;
    private final ServerConnector connector;
    private final Metrics metrics = new Metrics();
    private final long created = System.currentTimeMillis() / 1000;
    private volatile Ready ready;

    /**
     * Tests only: what the scheduler calls for a request's tokens, given the request's JSON body and
     * the listener that turns tokens into the response. A test replaces the model's text with a
     * script to check the shape of replies no tiny model would write (tool calls); serving leaves it
     * as the identity.
     */
    interface ListenerSeam {
        Session.TokenListener wrap(JsonNode body, Session.TokenListener listener);
    }

    volatile ListenerSeam listenerSeam = (body, listener) -> listener;

    public OpenAiServer(ServerSettings settings) {
        this.settings = settings;
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setName("ternion-http");
        pool.setVirtualThreadsExecutor(VirtualThreads.getNamedVirtualThreadsExecutor("ternion-request"));
        this.jetty = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        this.connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(settings.host());
        connector.setPort(settings.port());
        connector.setIdleTimeout(settings.timeoutSeconds() * 1000L);
        jetty.addConnector(connector);
        jetty.setHandler(new ApiHandler(this));
        jetty.setErrorHandler(new ApiHandler.ErrorPages());
        jetty.setStopTimeout(2000);
    }

    /** Binds and starts answering; until {@link #serve}, generation routes answer 503 and {@code /health} says loading. */
    public void start() throws Exception {
        jetty.start();
    }

    /** The bound port (the chosen one for port 0). */
    public int port() { return connector.getLocalPort(); }

    /** The address clients use, e.g. {@code http://127.0.0.1:8080}. */
    public String url() {
        String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
        return "http://" + host + ":" + port();
    }

    /**
     * Starts generating with a loaded model (whose slots are {@code model.parallel()}); from now on
     * {@code /health} is ok. The server does not close the model: its caller does, after {@link #close}.
     */
    public void serve(Model model, ChatFormat format) {
        serve(model, format, -1);
    }

    /**
     * {@link #serve(Model, ChatFormat)} with llama-server's {@code --context-shift}: a sequence that
     * fills its slot keeps its first {@code shiftKeep} tokens and drops half of the rest
     * ({@link Scheduler#contextShift}); −1: off, a full slot ends the answer ("length").
     */
    public void serve(Model model, ChatFormat format, int shiftKeep) {
        Scheduler scheduler = new Scheduler(model);
        scheduler.contextShift(shiftKeep);
        scheduler.start();
        int queue = settings.queue() >= 0 ? settings.queue() : 4 * scheduler.slots();
        ready = new Ready(model, scheduler, format, new Semaphore(scheduler.slots() + queue), queue);
    }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException {
        jetty.join();
    }

    /** Stops listening and ends every generation (as cancelled). */
    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            // stopping is best effort: the scheduler below still ends every sequence
        }
        Ready r = ready;
        if (r != null) r.scheduler().close();
    }

    ServerSettings settings() { return settings; }
    Metrics metrics() { return metrics; }
    long created() { return created; }
    /** Null while the model is loading. */
    Ready ready() { return ready; }
}
