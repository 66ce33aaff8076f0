package io.ternion.kernels.cpu;

/**
 * The worker pools the kernel tests run on: one thread, and three (more than this machine's cores,
 * and an odd split of every range). Shared by the test classes and never closed: their workers are
 * daemon threads.
 */
final class TestPools {
    private TestPools() {}

    static final WorkerPool ONE = new WorkerPool(1), THREE = new WorkerPool(3);
    static final WorkerPool[] BOTH = {ONE, THREE};
}
