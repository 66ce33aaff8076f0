package io.ternion.engine.cpu;

import io.ternion.model.Backend;
import io.ternion.model.CompiledModel;
import io.ternion.model.Graph;
import io.ternion.model.ReferenceBackend;

/** Placeholder until the Vector API kernels land: runs the reference. */
public final class CpuBackend implements Backend {
    private final int threads;

    public CpuBackend(int threads) { this.threads = threads; }

    @Override public String name() { return "cpu"; }

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch) {
        return new ReferenceBackend().compile(graph, contextLength, maxBatch);
    }
}
