package io.ternion.engine;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.TensorInfo;
import java.util.EnumMap;
import java.util.Map;

/**
 * Totals over a file's tensors: parameters, bytes per type, bits per weight, and the weight bytes a
 * decode step reads. Per token, every weight matrix is read once, except the token embedding, of
 * which one row is read, unless the model has no {@code output.weight} and uses the embedding as
 * its output head (tied), in which case all of it is read. {@code ternion info} prints it; the
 * benchmark harness divides the bytes per token by a bandwidth to get the decode roofline.
 */
public record ModelSummary(long parameters, long tensorBytes, Map<GgmlType, long[]> perType, long tokenTrafficBytes,
                           boolean tiedHead, GgmlType dominantType) {

    /** {@code perType} values: {tensor count, elements, bytes}. */
    public static ModelSummary of(GgufFile f) {
        long params = 0, bytes = 0;
        Map<GgmlType, long[]> perType = new EnumMap<>(GgmlType.class);
        for (TensorInfo t : f.tensors()) {
            params += t.elementCount();
            bytes += t.byteSize();
            long[] s = perType.computeIfAbsent(t.type(), k -> new long[3]);
            s[0]++;
            s[1] += t.elementCount();
            s[2] += t.byteSize();
        }
        TensorInfo embd = f.findTensor("token_embd.weight").orElse(null);
        boolean tied = embd != null && f.findTensor("output.weight").isEmpty();
        long traffic = bytes;
        if (embd != null && !tied) traffic -= embd.byteSize() - embd.type().rowBytes(embd.rowLength());
        GgmlType dominant = null;
        long most = -1;
        for (var e : perType.entrySet()) {
            if (e.getValue()[2] > most) { most = e.getValue()[2]; dominant = e.getKey(); }
        }
        return new ModelSummary(params, bytes, perType, traffic, tied, dominant);
    }

    public double bitsPerWeight() {
        return parameters == 0 ? 0 : 8.0 * tensorBytes / parameters;
    }
}
