package io.ternion.graph;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Rewrites of a {@link Graph} that a backend may ask for ({@link Backend#fuse}), built only on the
 * ops' {@link Op#reads()} and {@link Op#writes()}. Each replaces a run of ops by one fused op with
 * the same results; a backend runs the fused op in one launch or one hand-off to its threads
 * instead of several. Model code never writes fused ops.
 */
public final class Fusions {
    private Fusions() {}

    /**
     * {@code out = W·in} followed by {@code acc += out} becomes {@link Op.MatMulAdd} {@code acc += W·in}
     * when nothing reads {@code out} before it is next written (so it need not be stored), the
     * matmul does not read {@code acc} (its input would change under it), and both hold the same
     * rows (every token's, or the outputs').
     */
    public static Graph residualAdds(Graph g) {
        List<Op> ops = g.ops(), out = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            if (ops.get(i) instanceof Op.MatMul m && i + 1 < ops.size() && ops.get(i + 1) instanceof Op.Add add
                    && add.x().equals(m.out()) && !add.acc().equals(m.in()) && add.acc().perOutput() == m.out().perOutput()
                    && !readBeforeWritten(ops, i + 2, m.out())) {
                out.add(new Op.MatMulAdd(m.weight(), m.in(), add.acc()));
                i++;
            } else {
                out.add(ops.get(i));
            }
        }
        return g.withOps(out);
    }

    /**
     * An {@link Op.RmsNorm} of every token's row whose output is next read by a matmul with weights
     * of a type that {@code quantizes} (that is, whose activations the backend quantizes) becomes
     * {@link Op.RmsNormQuantize}, so the backend may quantize the row while it is normalizing it.
     * The norm of the output rows (before the head) stays as it is: they are a few rows, and
     * little would be saved.
     */
    public static Graph normThenQuantize(Graph g, Predicate<GgmlType> quantizes) {
        List<Op> ops = g.ops(), out = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            GgmlType reader = ops.get(i) instanceof Op.RmsNorm r && !r.in().perOutput() ? nextMatMulReader(ops, i + 1, r.out()) : null;
            out.add(reader != null && quantizes.test(reader) ? new Op.RmsNormQuantize((Op.RmsNorm) ops.get(i), reader) : ops.get(i));
        }
        return g.withOps(out);
    }

    /**
     * Consecutive {@link Op.MatMul}s on one input whose weights {@code canShare} (by the backend's
     * rule: the same kernel and input preparation) become one {@link Op.SharedInput}, such as a
     * layer's q, k and v or its gate and up. A run stops at a matmul that would write the input, or
     * write a buffer an earlier member writes, since the input is prepared once for all of them.
     */
    public static Graph sharedInputs(Graph g, BiPredicate<Tensor, Tensor> canShare) {
        List<Op> ops = g.ops(), out = new ArrayList<>();
        for (int i = 0; i < ops.size(); ) {
            int j = i + 1;
            if (ops.get(i) instanceof Op.MatMul first && !first.out().equals(first.in())) {
                while (j < ops.size() && ops.get(j) instanceof Op.MatMul next && next.in().equals(first.in())
                        && !next.out().equals(first.in()) && !writtenIn(ops.subList(i, j), next.out())
                        && canShare.test(first.weight(), next.weight())) j++;
            }
            if (j - i == 1) {
                out.add(ops.get(i));
            } else {
                out.add(new Op.SharedInput(ops.subList(i, j).stream().map(Op.MatMul.class::cast).toList()));
            }
            i = j;
        }
        return g.withOps(out);
    }

    /** The weight type of the matmul that next reads {@code b} from {@code from} on, or null when the next reader is anything else. */
    private static GgmlType nextMatMulReader(List<Op> ops, int from, Buf b) {
        for (int i = from; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op.reads().contains(b)) {
                return switch (op) {
                    case Op.MatMul m when m.in().equals(b) -> m.weight().type();
                    case Op.MatMulAdd m when m.in().equals(b) -> m.weight().type();
                    default -> null;
                };
            }
            if (op.writes().contains(b)) return null;
        }
        return null;
    }

    /** Whether an op from {@code from} on reads {@code b} before one overwrites it. */
    private static boolean readBeforeWritten(List<Op> ops, int from, Buf b) {
        for (int i = from; i < ops.size(); i++) {
            if (ops.get(i).reads().contains(b)) return true;
            if (ops.get(i).writes().contains(b)) return false;
        }
        return false;
    }

    private static boolean writtenIn(List<Op> ops, Buf b) {
        return ops.stream().anyMatch(o -> o.writes().contains(b));
    }
}
