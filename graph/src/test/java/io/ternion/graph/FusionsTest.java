package io.ternion.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Each fusion pass on small hand-written graphs: what it rewrites, and each condition under which
 * it must leave the ops alone. (That fused graphs give the same bits on each backend is tested
 * where the backends are: the engine's FusionBitsTest.)
 */
class FusionsTest {
    static final Buf X = buf("x", 8), H = buf("h", 8), H2 = buf("h2", 8), Q = buf("q", 8), K = buf("k", 4), V = buf("v", 4);
    static final Buf LAST = new Buf("last", 8, true), LOGITS = new Buf("logits", 16, true);
    static final Tensor NORM = tensor("norm", GgmlType.F32, 8, 1);
    static final Tensor WQ = tensor("wq", GgmlType.Q8_0, 32, 8), WK = tensor("wk", GgmlType.Q8_0, 32, 4), WV = tensor("wv", GgmlType.Q8_0, 32, 4);
    static final Tensor WO = tensor("wo", GgmlType.F16, 32, 8), HEAD = tensor("head", GgmlType.F16, 32, 16);

    static Buf buf(String name, int width) {
        return new Buf(name, width, false);
    }

    /** Zeros of the given shape: the passes look at a matrix's type, never at its values or its shape. */
    static Tensor tensor(String name, GgmlType type, int k, int n) {
        return Tensor.of(name, type, new long[] {k, n}, new byte[Math.toIntExact(type.rowBytes(k) * n)]);
    }

    static Graph graph(Op... ops) {
        return new Graph(new Graph.Cache(1, 2, 1, 4), List.of(X, H, H2, Q, K, V, LAST, LOGITS), List.of(ops), LOGITS);
    }

    @Nested
    class ResidualAdds {
        @Test
        void aMatMulAndTheAddOfItsOutputBecomeOneOp() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(X, H2), new Op.RmsNorm(X, NORM, H, 1e-5f));
            assertEquals(List.of(new Op.MatMulAdd(WO, H, X), new Op.RmsNorm(X, NORM, H, 1e-5f)), Fusions.residualAdds(g).ops());
        }

        @Test
        void notWhenTheProductIsReadAgain() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(X, H2), new Op.Add(Q, H2));
            assertEquals(g.ops(), Fusions.residualAdds(g).ops());
        }

        @Test
        void whenTheProductIsOverwrittenBeforeAnyRead() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(X, H2), new Op.MatMul(WO, X, H2), new Op.Add(Q, H2));
            assertEquals(List.of(new Op.MatMulAdd(WO, H, X), new Op.MatMulAdd(WO, X, Q)), Fusions.residualAdds(g).ops());
        }

        @Test
        void notWhenTheSumIsTheInput() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(H, H2));
            assertEquals(g.ops(), Fusions.residualAdds(g).ops());
        }

        @Test
        void notWhenTheRowsDiffer() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(LAST, H2));
            assertEquals(g.ops(), Fusions.residualAdds(g).ops());
        }

        @Test
        void notWhenSomethingComesBetween() {
            Graph g = graph(new Op.MatMul(WO, H, H2), new Op.RmsNorm(Q, NORM, Q, 1e-5f), new Op.Add(X, H2));
            assertEquals(g.ops(), Fusions.residualAdds(g).ops());
        }
    }

    @Nested
    class NormThenQuantize {
        static final Op.RmsNorm NORM_H = new Op.RmsNorm(X, NORM, H, 1e-5f);

        @Test
        void aNormReadNextByAQuantizingMatMulQuantizesForIt() {
            Graph g = graph(NORM_H, new Op.MatMul(WQ, H, Q), new Op.MatMul(WK, H, K));
            assertEquals(List.of(new Op.RmsNormQuantize(NORM_H, GgmlType.Q8_0), new Op.MatMul(WQ, H, Q), new Op.MatMul(WK, H, K)),
                    Fusions.normThenQuantize(g, t -> t == GgmlType.Q8_0).ops());
        }

        @Test
        void aFusedResidualMatMulCountsAsAReader() {
            Graph g = graph(NORM_H, new Op.MatMulAdd(WQ, H, X));
            assertEquals(new Op.RmsNormQuantize(NORM_H, GgmlType.Q8_0), Fusions.normThenQuantize(g, t -> true).ops().getFirst());
        }

        @Test
        void notForFloatActivations() {
            Graph g = graph(NORM_H, new Op.MatMul(WO, H, H2));
            assertEquals(g.ops(), Fusions.normThenQuantize(g, t -> t == GgmlType.Q8_0).ops());
        }

        @Test
        void notWhenTheNextReaderIsNoMatMul() {
            Graph g = graph(NORM_H, new Op.Add(X, H), new Op.MatMul(WQ, H, Q));
            assertEquals(g.ops(), Fusions.normThenQuantize(g, t -> true).ops());
        }

        @Test
        void notWhenTheOutputIsOverwrittenFirst() {
            Graph g = graph(NORM_H, new Op.Glu(Activation.SILU, Q, Q, H), new Op.MatMul(WQ, H, Q));
            assertEquals(g.ops(), Fusions.normThenQuantize(g, t -> true).ops());
        }

        @Test
        void notTheLastRowsNormBeforeTheHead() {
            Graph g = graph(new Op.RmsNorm(LAST, NORM, LAST, 1e-5f), new Op.MatMul(HEAD, LAST, LOGITS));
            assertEquals(g.ops(), Fusions.normThenQuantize(g, t -> true).ops());
        }
    }

    @Nested
    class SharedInputs {
        @Test
        void consecutiveMatMulsOnOneInputBecomeOneStep() {
            Graph g = graph(new Op.MatMul(WQ, H, Q), new Op.MatMul(WK, H, K), new Op.MatMul(WV, H, V), new Op.MatMul(WO, Q, H2));
            List<Op> ops = Fusions.sharedInputs(g, (a, b) -> true).ops();
            assertEquals(List.of(new Op.SharedInput(List.of(new Op.MatMul(WQ, H, Q), new Op.MatMul(WK, H, K), new Op.MatMul(WV, H, V))),
                    new Op.MatMul(WO, Q, H2)), ops);
            assertEquals(List.of(Q, K, V), ops.getFirst().writes());
            assertEquals(List.of(WQ, WK, WV), ops.getFirst().matrices());
        }

        @Test
        void onlyWhereTheBackendSaysTheWeightsShareAnInput() {
            Graph g = graph(new Op.MatMul(WQ, H, Q), new Op.MatMul(WO, H, H2), new Op.MatMul(WK, H, K));
            assertEquals(g.ops(), Fusions.sharedInputs(g, (a, b) -> a.type() == b.type()).ops());
        }

        @Test
        void aRunStopsAtAMatMulThatWritesTheInput() {
            Graph g = graph(new Op.MatMul(WQ, H, Q), new Op.MatMul(WO, H, H));
            assertEquals(g.ops(), Fusions.sharedInputs(g, (a, b) -> true).ops());
        }

        @Test
        void aRunStopsAtASecondWriterOfOneOutput() {
            Graph g = graph(new Op.MatMul(WK, H, K), new Op.MatMul(WV, H, K), new Op.MatMul(WV, H, V));
            List<Op> ops = Fusions.sharedInputs(g, (a, b) -> true).ops();
            assertEquals(List.of(new Op.MatMul(WK, H, K), new Op.SharedInput(List.of(new Op.MatMul(WV, H, K), new Op.MatMul(WV, H, V)))), ops);
        }

        @Test
        void aLoneMatMulStaysAsItIs() {
            Op.MatMul m = new Op.MatMul(WQ, H, Q);
            assertSame(m, Fusions.sharedInputs(graph(m), (a, b) -> true).ops().getFirst());
        }
    }

    @Test
    void passesKeepEverythingButTheOps() {
        Graph g = graph(new Op.MatMul(WO, H, H2), new Op.Add(X, H2));
        Graph f = Fusions.residualAdds(g);
        assertEquals(g.cache(), f.cache());
        assertEquals(g.buffers(), f.buffers());
        assertEquals(g.logits(), f.logits());
    }
}
