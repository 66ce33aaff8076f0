package io.ternion.model;

/** Creates a backend by name; {@code auto} picks the best available (the CPU until GPU backends exist). */
public final class Backends {
    private Backends() {}

    public static Backend create(String name, int threads) {
        return create(name, threads, -1);
    }

    /** @param device the GPU device index for GPU backends, -1 to let the backend pick */
    public static Backend create(String name, int threads, int device) {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (name) {
            case "reference" -> new ReferenceBackend();
            case "cpu", "auto" -> new io.ternion.engine.cpu.CpuBackend(t);
            default -> throw new ModelException("unknown backend '" + name + "' (use auto, cpu or reference)");
        };
    }
}
