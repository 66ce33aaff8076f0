package io.ternion.graph;

/**
 * The rotation of the rotated KV types ({@link KvType#rotated()}): per head, a randomized
 * Walsh–Hadamard transform R = H·D/√n applied block by block, where n is the largest power of two
 * that divides headDim ({@link #blockLength}; 128 for a head of 128, 16 for one of 80), D the
 * diagonal of fixed random signs {@link #sign}(i) for i = 0..n−1 (the same in every block, head and
 * layer) and H the n×n Sylvester Hadamard matrix (H[i][j] = (−1)^popcount(i &amp; j)).
 *
 * <p>Why: R is orthogonal, so (R·q)·(R·k) = q·k and a backend may rotate the query once per head
 * and score it against rotated keys without turning them back. A rotation spreads each head's energy
 * evenly over its coordinates (the outlier channels of K in particular), so each coordinate is close
 * to a Gaussian of the block's scale and one fixed scalar codebook fits them all (TurboQuant's
 * argument). Values are rotated on store too; since the attention output is a weighted sum of
 * values, it is the rotation of the true output, and {@link #inverse} turns it back once per head.
 *
 * <p>Exactly, for a block x[0..n): forward: x[i] *= sign(i); then the butterflies for len = 1, 2,
 * 4, … n/2: for each pair (a, b) = (x[j], x[j+len]) with j's bit len clear, x[j] = a + b,
 * x[j+len] = a − b; then x[i] *= 1/√n (the float {@code (float) (1 / Math.sqrt(n))}). Inverse:
 * the same butterflies, the same 1/√n, then x[i] *= sign(i). All in float.
 */
public final class KvRotation {
    private KvRotation() {}

    /** The seed of the signs, fixed so that every backend and every run rotates alike. */
    public static final long SEED = 0x7e57_0e57_4b56_2d51L;

    /** The length of the Hadamard blocks for a head of headDim values: its largest power-of-two divisor. */
    public static int blockLength(int headDim) {
        if (headDim < 1) throw new IllegalArgumentException("headDim must be >= 1: " + headDim);
        return Integer.lowestOneBit(headDim);
    }

    /**
     * The sign of coordinate i of a block (i &lt; 2³¹): +1 or −1 from the top bit of SplitMix64's
     * output for state {@code SEED + (i + 1)·0x9E3779B97F4A7C15}: z = state; z = (z ^ z>>>30)·0xBF58476D1CE4E5B9;
     * z = (z ^ z>>>27)·0x94D049BB133111EB; z ^= z>>>31; sign = z &lt; 0 ? −1 : +1.
     */
    public static float sign(int i) {
        long z = SEED + (i + 1L) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return z < 0 ? -1f : 1f;
    }

    /** The signs of one block for a head of headDim values, for backends that keep them in a table. */
    public static float[] signs(int headDim) {
        float[] s = new float[blockLength(headDim)];
        for (int i = 0; i < s.length; i++) s[i] = sign(i);
        return s;
    }

    /** x[off..off+headDim) = R·x, in place. */
    public static void forward(float[] x, int off, int headDim) {
        int n = blockLength(headDim);
        float norm = (float) (1 / Math.sqrt(n));
        for (int b = off; b < off + headDim; b += n) {
            for (int i = 0; i < n; i++) x[b + i] *= sign(i);
            butterflies(x, b, n);
            for (int i = 0; i < n; i++) x[b + i] *= norm;
        }
    }

    /** x[off..off+headDim) = Rᵀ·x (R's inverse), in place. */
    public static void inverse(float[] x, int off, int headDim) {
        int n = blockLength(headDim);
        float norm = (float) (1 / Math.sqrt(n));
        for (int b = off; b < off + headDim; b += n) {
            butterflies(x, b, n);
            for (int i = 0; i < n; i++) x[b + i] *= norm * sign(i);
        }
    }

    private static void butterflies(float[] x, int off, int n) {
        for (int len = 1; len < n; len <<= 1) {
            for (int j = 0; j < n; j += 2 * len) {
                for (int i = off + j; i < off + j + len; i++) {
                    float a = x[i], b = x[i + len];
                    x[i] = a + b;
                    x[i + len] = a - b;
                }
            }
        }
    }
}
