// Ternion's OpenCL C kernels (OpenCL C 1.2: no fp16 or subgroup extension needed; halves are read
// and written with vload_half/vstore_half, which are core). Built with -DLWS=<work-group size> for
// the per-row ops, and for the matvecs -DLPR=<lanes per row> and -DRPW=<rows per work-group>
// (powers of two chosen per device: a GPU gives each row a warp or wavefront, LPR = 32 or 64,
// RPW = 1, so the lanes read consecutive weights; a CPU device such as PoCL gives each work-item a
// whole row, LPR = 1, RPW = 16, so there are no barriers and few work-groups), -DTILE=<prompt tokens
// per work-item of the tiled matmuls> (tornado-config/opencl holds these per device); and with
// -cl-fp32-correctly-rounded-divide-sqrt so the activation quantizers' divisions round exactly as
// Java's do.
//
// Conventions: activations are float rows, one per token of the batch (dimension 1 of the range),
// or for the head's buffers one per token whose logits come back (an output row).
//
// `step` is the only data that goes up per forward call, ints, so a step can mix sequences:
//   step[0]           n, the batch's tokens (rows)
//   step[1]           the rows that want logits (outputs); 0 runs no head
//   step[2 + 3b]      token of row b (b < n)
//   step[3 + 3b]      its position in its sequence
//   step[4 + 3b]      its KV slot (the sequence)
//   step[2 + 3n + j]  the row of the j-th output, in order (j < step[1])
// Row b's K and V go to (slot, position) of the cache, and its attention reads that slot's
// positions 0..position and nothing of other slots.

#pragma OPENCL FP_CONTRACT OFF

#define STEP_TOKENS 0
#define STEP_OUTPUTS 1
#define STEP_TOKEN(step, b) (step)[2 + 3 * (b)]
#define STEP_POSITION(step, b) (step)[3 + 3 * (b)]
#define STEP_SLOT(step, b) (step)[4 + 3 * (b)]
#define STEP_OUTPUT_ROW(step, j) (step)[2 + 3 * (step)[STEP_TOKENS] + (j)]

#if defined(cl_khr_fp64)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t; // the CPU backend sums RMSNorm squares in double
#else
typedef float acc_t;
#endif

// ---- work-group reductions (LWS lanes, local scratch of LWS) ----

// One generator for every reduction: T the type, COMBINE(a, b) how two lanes' values combine.
#define WG_REDUCE(NAME, T, COMBINE) \
T NAME(local T* s, T v) { \
    int l = get_local_id(0); \
    s[l] = v; \
    barrier(CLK_LOCAL_MEM_FENCE); \
    for (int h = LWS / 2; h > 0; h >>= 1) { \
        if (l < h) s[l] = COMBINE(s[l], s[l + h]); \
        barrier(CLK_LOCAL_MEM_FENCE); \
    } \
    T r = s[0]; \
    barrier(CLK_LOCAL_MEM_FENCE); \
    return r; \
}
#define ADD(a, b) ((a) + (b))
WG_REDUCE(wg_sum_f, float, ADD)
WG_REDUCE(wg_max_f, float, fmax)
WG_REDUCE(wg_sum_i, int, ADD)

#if defined(cl_khr_fp64)
WG_REDUCE(wg_sum_d, double, ADD)
#define wg_sum_acc wg_sum_d
#else
#define wg_sum_acc wg_sum_f
#endif

// Sum over the LPR lanes of one row (every lane gets it). Without lanes to combine, no barriers.
#if LPR > 1
#define ROW_REDUCE(NAME, T) \
T NAME(local T* s, T v) { \
    int l = get_local_id(0), sub = l % LPR; \
    s[l] = v; \
    barrier(CLK_LOCAL_MEM_FENCE); \
    for (int h = LPR / 2; h > 0; h >>= 1) { \
        if (sub < h) s[l] += s[l + h]; \
        barrier(CLK_LOCAL_MEM_FENCE); \
    } \
    T r = s[l - sub]; \
    barrier(CLK_LOCAL_MEM_FENCE); \
    return r; \
}
ROW_REDUCE(row_sum_f, float)
ROW_REDUCE(row_sum_i, int)
#else
#define row_sum_f(s, v) (v)
#define row_sum_i(s, v) (v)
#endif

// The lane's row and its place among the row's lanes, for the matvec kernels.
#define MATVEC_LANE \
    int l = get_local_id(0), sub = l % LPR, row = get_group_id(0) * RPW + l / LPR, b = get_global_id(1); \
    bool live = row < m; \
    global const uchar* wr = w + (size_t) (live ? row : 0) * rowBytes;

// ---- weights: element i of a row, one function per format (as gguf's scalar decoders) ----

float half_at(global const uchar* p) { return vload_half(0, (global const half*) p); }

float dq_f32(global const uchar* r, int i, float ts) { return ((global const float*) r)[i]; }
float dq_f16(global const uchar* r, int i, float ts) { return vload_half(i, (global const half*) r); }
float dq_bf16(global const uchar* r, int i, float ts) { return as_float(((uint) ((global const ushort*) r)[i]) << 16); }

float dq_q8_0(global const uchar* r, int i, float ts) {
    global const uchar* b = r + (i / 32) * 34;
    return half_at(b) * (float) ((global const char*) b)[2 + i % 32];
}

float dq_q4_0(global const uchar* r, int i, float ts) {
    global const uchar* b = r + (i / 32) * 18;
    int j = i % 32;
    int q = j < 16 ? (b[2 + j] & 0xF) : (b[2 + j - 16] >> 4);
    return (float) (q - 8) * half_at(b);
}

void q4k_scale_min(global const uchar* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

float dq_q4_k(global const uchar* r, int i, float ts) {
    global const uchar* b = r + (i / 256) * 144;
    int j = i % 256, c = j / 64, hi = (j % 64) / 32, l = j % 32;
    int sc, m;
    q4k_scale_min(b + 4, 2 * c + hi, &sc, &m);
    int q = b[16 + 32 * c + l];
    q = hi ? q >> 4 : q & 0xF;
    return half_at(b) * (float) sc * (float) q - half_at(b + 2) * (float) m;
}

float dq_q6_k(global const uchar* r, int i, float ts) {
    global const uchar* b = r + (i / 256) * 210;
    int j = i % 256, half_ = j / 128, jj = j % 128, quarter = jj / 32, l = jj % 32;
    global const uchar* ql = b + 64 * half_;
    global const uchar* qh = b + 128 + 32 * half_;
    global const char* sc = (global const char*) (b + 192 + 8 * half_);
    int low = quarter & 1 ? ql[l + 32] : ql[l];
    low = quarter >= 2 ? low >> 4 : low & 0xF;
    int q = (low | (((qh[l] >> (2 * quarter)) & 3) << 4)) - 32;
    return half_at(b + 208) * (float) sc[l / 16 + 2 * quarter] * (float) q;
}

// Ternary and binary formats: the weight in -1..1 (codes), and as a float times its scale.
int code_i2_s(global const uchar* r, int i) {
    int blk = i / 128, j = i % 128;
    return ((r[blk * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3) - 1;
}

int code_tq2_0(global const uchar* r, int i) {
    global const uchar* b = r + (i / 256) * 66;
    int j = i % 256, h = j / 128, n = (j % 128) / 32, m = j % 32;
    return ((b[32 * h + m] >> (2 * n)) & 3) - 1;
}

constant uchar POW3[6] = {1, 3, 9, 27, 81, 243};

int trit(uchar q, int n) {
    return ((((uint) q * POW3[n]) & 0xFF) * 3) >> 8;
}

int code_tq1_0(global const uchar* r, int i) {
    global const uchar* b = r + (i / 256) * 54;
    int j = i % 256;
    if (j < 160) return trit(b[j % 32], j / 32) - 1;
    if (j < 240) return trit(b[32 + (j - 160) % 16], (j - 160) / 16) - 1;
    return trit(b[48 + (j - 240) % 4], (j - 240) / 4) - 1;
}

int code_q1_0(global const uchar* r, int i) {
    global const uchar* b = r + (i / 128) * 18;
    int j = i % 128;
    return ((b[2 + j / 8] >> (j % 8)) & 1) ? 1 : -1;
}

// Q2_0 (type 42) in blocks of QK, 64 upstream and 128 in the PrismML fork's first files: fp16 d,
// then element j's code c at bits 2(j % 4) of byte j / 4, meaning (c - 1) d, so -1, 0, +1 or +2.
// Its fourth code makes it not ternary, but it decodes to small integers as those formats do.
#define Q2_0_BLOCK_BYTES(QK) (2 + (QK) / 4)
int code_q2_0_of(global const uchar* r, int i, int qk) {
    global const uchar* b = r + (i / qk) * Q2_0_BLOCK_BYTES(qk);
    int j = i % qk;
    return ((b[2 + j / 4] >> (2 * (j % 4))) & 3) - 1;
}
int code_q2_0(global const uchar* r, int i) { return code_q2_0_of(r, i, 64); }
int code_q2_0_128(global const uchar* r, int i) { return code_q2_0_of(r, i, 128); }

// Per-block weight scales (the I2_S scale is one per tensor, passed in as ts).
float wscale_tq2_0(global const uchar* r, int i) { return half_at(r + (i / 256) * 66 + 64); }
float wscale_tq1_0(global const uchar* r, int i) { return half_at(r + (i / 256) * 54 + 52); }
float wscale_q1_0(global const uchar* r, int i) { return half_at(r + (i / 128) * 18); }
float wscale_q2_0(global const uchar* r, int i) { return half_at(r + (i / 64) * Q2_0_BLOCK_BYTES(64)); }
float wscale_q2_0_128(global const uchar* r, int i) { return half_at(r + (i / 128) * Q2_0_BLOCK_BYTES(128)); }

float dq_i2_s(global const uchar* r, int i, float ts) { return (float) code_i2_s(r, i) * ts; }
float dq_tq2_0(global const uchar* r, int i, float ts) { return (float) code_tq2_0(r, i) * wscale_tq2_0(r, i); }
float dq_tq1_0(global const uchar* r, int i, float ts) { return (float) code_tq1_0(r, i) * wscale_tq1_0(r, i); }
float dq_q1_0(global const uchar* r, int i, float ts) { return code_q1_0(r, i) > 0 ? wscale_q1_0(r, i) : -wscale_q1_0(r, i); }
float dq_q2_0(global const uchar* r, int i, float ts) { return (float) code_q2_0(r, i) * wscale_q2_0(r, i); }
float dq_q2_0_128(global const uchar* r, int i, float ts) { return (float) code_q2_0_128(r, i) * wscale_q2_0_128(r, i); }

// ---- embedding lookup: out[b] = the table's row of row b's token, for every format ----

#define EMBED(T) \
kernel void embed_##T(global const uchar* table, ulong rowBytes, float ts, global const int* step, global float* out, int dim) { \
    int i = get_global_id(0), b = get_global_id(1); \
    if (i >= dim) return; \
    out[(size_t) b * dim + i] = dq_##T(table + (size_t) STEP_TOKEN(step, b) * rowBytes, i, ts); \
}
EMBED(f32) EMBED(f16) EMBED(bf16) EMBED(q8_0) EMBED(q4_0) EMBED(q4_k) EMBED(q6_k)
EMBED(i2_s) EMBED(tq2_0) EMBED(tq1_0) EMBED(q1_0) EMBED(q2_0) EMBED(q2_0_128)

// ---- matrix-vector products with float activations: one work-group per output row ----
// Range: (ceil(rows / RPW) * RPW * LPR, batch), local (RPW * LPR, 1). y[b][row] = W[row] . x[b], or with acc != 0
// y[b][row] += W[row] . x[b]: the residual add fused into the matvec, saving a pass and a launch.

// One lane's part of a float row dot product. Lanes of a row take every LPR-th element so that
// together they read consecutive weights; a lone lane (LPR = 1) sums blocks of 32 first, which keeps
// the rounding error of a long sequential sum near that of the CPU's vector lanes.
#if LPR > 1
#define DOT_FLOAT(T) \
float dot_##T(global const uchar* wr, float ts, global const float* xb, int k, int sub) { \
    float d = 0; \
    for (int i = sub; i < k; i += LPR) d += dq_##T(wr, i, ts) * xb[i]; \
    return d; \
}
#else
#define DOT_FLOAT(T) \
float dot_##T(global const uchar* wr, float ts, global const float* xb, int k, int sub) { \
    float d = 0; \
    for (int i0 = 0; i0 < k; i0 += 32) { \
        float c = 0; \
        for (int i = i0; i < min(k, i0 + 32); i++) c += dq_##T(wr, i, ts) * xb[i]; \
        d += c; \
    } \
    return d; \
}
#endif
DOT_FLOAT(f32) DOT_FLOAT(bf16) DOT_FLOAT(q8_0) DOT_FLOAT(q4_0) DOT_FLOAT(q4_k) DOT_FLOAT(q6_k)

// F16, the tied head of BitNet 2B4T and most embeddings: four halves per lane at a time.
float dot_f16(global const uchar* wr, float ts, global const float* xb, int k, int sub) {
    global const half* h = (global const half*) wr;
    float d = 0;
    for (int i4 = sub; i4 < k / 4; i4 += LPR) {
        float4 wv = vload_half4(i4, h), xv = vload4(i4, xb);
        d += (wv.x * xv.x + wv.y * xv.y) + (wv.z * xv.z + wv.w * xv.w);
    }
    if (sub == 0) for (int i = k / 4 * 4; i < k; i++) d += vload_half(i, h) * xb[i];
    return d;
}

#define MATVEC_FLOAT(T) \
kernel void mv_##T(global const uchar* w, ulong rowBytes, float ts, global const float* x, global float* y, int k, int m, int acc) { \
    local float scratch[LPR * RPW]; \
    MATVEC_LANE \
    global const float* xb = x + (size_t) b * k; \
    float s = 0; \
    if (live) s = dot_##T(wr, ts, xb, k, sub); \
    s = row_sum_f(scratch, s); \
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + s : s; \
}
MATVEC_FLOAT(f32) MATVEC_FLOAT(f16) MATVEC_FLOAT(bf16) MATVEC_FLOAT(q8_0) MATVEC_FLOAT(q4_0) MATVEC_FLOAT(q4_k) MATVEC_FLOAT(q6_k)

// ---- activation quantizers, each as its format's reference engine does it ----

// bitnet.cpp quantize_row_i8_s: s = 127 / max(max|x|, 1e-5); q = clamp(round(x*s), -128, 127).
// One row of k by the work-group's LWS lanes; *qd = s.
void quant_i8_s_row(local float* scratch, global const float* xb, global char* qb, global float* qd, int k) {
    int l = get_local_id(0);
    float mx = 0;
    for (int i = l; i < k; i += LWS) mx = fmax(mx, fabs(xb[i]));
    mx = fmax(wg_max_f(scratch, mx), 1e-5f);
    float s = 127.0f / mx;
    for (int i = l; i < k; i += LWS) qb[i] = (char) clamp(round(xb[i] * s), -128.0f, 127.0f);
    if (l == 0) *qd = s;
}

// llama.cpp quantize_row_q8_K_ref: per 256, the first element of largest |x| becomes -127.
void quant_q8_k_block(global const float* xb, global char* qb, global float* d) {
    float amax = 0, mx = 0;
    for (int j = 0; j < 256; j++) {
        float ax = fabs(xb[j]);
        if (ax > amax) { amax = ax; mx = xb[j]; }
    }
    if (amax == 0) {
        for (int j = 0; j < 256; j++) qb[j] = 0;
        *d = 0;
        return;
    }
    float iscale = -127.0f / mx;
    for (int j = 0; j < 256; j++) qb[j] = (char) min(127, (int) rint(iscale * xb[j]));
    *d = 1.0f / iscale;
}

// llama.cpp quantize_row_q8_0_ref: per 32, d = amax/127 rounded to fp16, q = round(x/d).
void quant_q8_0_block(global const float* xb, global char* qb, global float* dOut) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = fmax(amax, fabs(xb[j]));
    float d = amax / 127;
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; j++) qb[j] = (char) (int) round(xb[j] * id);
    ushort h;
    vstore_half_rte(d, 0, (private half*) &h);
    *dOut = vload_half(0, (private half*) &h);
}

// Range: (LWS, batch), local (LWS, 1). qd[b] = s.
kernel void quant_i8_s(global const float* x, global char* q, global float* qd, int k) {
    local float scratch[LWS];
    int b = get_global_id(1);
    quant_i8_s_row(scratch, x + (size_t) b * k, q + (size_t) b * k, qd + b, k);
}

// Range: (k/BLOCK, batch). qd[b * k/BLOCK + blk] = d.
kernel void quant_q8_k(global const float* x, global char* q, global float* qd, int k) {
    int blk = get_global_id(0), b = get_global_id(1);
    size_t at = (size_t) b * k + blk * 256;
    quant_q8_k_block(x + at, q + at, qd + b * (k / 256) + blk);
}

kernel void quant_q8_0(global const float* x, global char* q, global float* qd, int k) {
    int blk = get_global_id(0), b = get_global_id(1);
    size_t at = (size_t) b * k + blk * 32;
    quant_q8_0_block(x + at, q + at, qd + b * (k / 32) + blk);
}

// ---- ternary and binary matvec over quantized activations: exact integer sums per 32 ----
// Range and lanes as the float matvecs. Each lane takes units of 32 elements.

// I2_S: one integer sum over the row, then (S / act_scale) * w_scale as bitnet.cpp's mul_mat.
kernel void mv_i2_s(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd,
                    global float* y, int k, int m, int acc) {
    local int scratch[LPR * RPW];
    MATVEC_LANE
    global const char* qb = q + (size_t) b * k;
    int s = 0;
    // Byte m of a 128-block holds elements m, m + 32, m + 64 and m + 96 at shifts 6, 4, 2 and 0.
    if (live) {
#if LPR > 1
        // Four code bytes per lane at a time, so a warp reads 128 consecutive bytes.
        int4 acc4 = 0;
        for (int u = sub; u < k / 16; u += LPR) {
            int byte = u * 4;
            int4 c = convert_int4(vload4(0, wr + byte));
            global const char* qe = qb + (byte / 32) * 128 + byte % 32;
            acc4 += (((c >> 6) & 3) - 1) * convert_int4(vload4(0, qe)) + (((c >> 4) & 3) - 1) * convert_int4(vload4(0, qe + 32))
                  + (((c >> 2) & 3) - 1) * convert_int4(vload4(0, qe + 64)) + ((c & 3) - 1) * convert_int4(vload4(0, qe + 96));
        }
        s = acc4.x + acc4.y + acc4.z + acc4.w;
#else
        // A row per work-item: scalar code, which a CPU device's compiler vectorizes across work-items.
        for (int byte = 0; byte < k / 4; byte++) {
            int c = wr[byte];
            global const char* qe = qb + (byte / 32) * 128 + byte % 32;
            s += (((c >> 6) & 3) - 1) * qe[0] + (((c >> 4) & 3) - 1) * qe[32] + (((c >> 2) & 3) - 1) * qe[64] + ((c & 3) - 1) * qe[96];
        }
#endif
    }
    s = row_sum_i(scratch, s);
    float r = (float) s / qd[b] * ts;
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + r : r;
}

#define MATVEC_Q8K(T) \
kernel void mv_##T(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd, \
                   global float* y, int k, int m, int acc) { \
    local float scratch[LPR * RPW]; \
    MATVEC_LANE \
    int nb = k / 256; \
    global const char* qb = q + (size_t) b * k; \
    float s = 0; \
    if (live) { \
        for (int u = sub; u < k / 32; u += LPR) { \
            int i0 = u * 32, si = 0; \
            for (int j = 0; j < 32; j++) si += code_##T(wr, i0 + j) * qb[i0 + j]; \
            s += (float) si * (wscale_##T(wr, i0) * qd[b * nb + i0 / 256]); \
        } \
    } \
    s = row_sum_f(scratch, s); \
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + s : s; \
}
MATVEC_Q8K(tq1_0)

// TQ2_0 as I2_S, four code bytes per lane at a time, in blocks of 256: byte 32h + m of a block
// holds elements 128h + 32n + m at shift 2n, and each block has its own scale.
kernel void mv_tq2_0(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd,
                     global float* y, int k, int m, int acc) {
    local float scratch[LPR * RPW];
    MATVEC_LANE
    int nb = k / 256;
    global const char* qb = q + (size_t) b * k;
    float s = 0;
    if (live) {
        for (int u = sub; u < k / 16; u += LPR) {
            int blk = u / 16, byte = (u % 16) * 4;
            global const uchar* bw = wr + blk * 66;
            int4 c = convert_int4(vload4(0, bw + byte));
            global const char* qe = qb + blk * 256 + (byte / 32) * 128 + byte % 32;
            int4 a4 = ((c & 3) - 1) * convert_int4(vload4(0, qe)) + (((c >> 2) & 3) - 1) * convert_int4(vload4(0, qe + 32))
                    + (((c >> 4) & 3) - 1) * convert_int4(vload4(0, qe + 64)) + (((c >> 6) & 3) - 1) * convert_int4(vload4(0, qe + 96));
            s += (float) (a4.x + a4.y + a4.z + a4.w) * (half_at(bw + 64) * qd[b * nb + blk]);
        }
    }
    s = row_sum_f(scratch, s);
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + s : s;
}

kernel void mv_q1_0(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd,
                    global float* y, int k, int m, int acc) {
    local float scratch[LPR * RPW];
    MATVEC_LANE
    int nb = k / 32;
    global const char* qb = q + (size_t) b * k;
    float s = 0;
    if (live) {
        for (int u = sub; u < nb; u += LPR) {
            // One byte of sign bits per 8 elements: sum(+-q) = 2 * sum(q where set) - sum(q).
            global const uchar* blk = wr + (u / 4) * 18;
            global const uchar* bits = blk + 2 + (u % 4) * 4;
            global const char* qu = qb + u * 32;
            int set = 0, all = 0;
            for (int j = 0; j < 32; j++) {
                int qj = qu[j];
                all += qj;
                set += ((bits[j / 8] >> (j % 8)) & 1) ? qj : 0;
            }
            s += half_at(blk) * (qd[b * nb + u] * (float) (2 * set - all));
        }
    }
    s = row_sum_f(scratch, s);
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + s : s;
}

// Q2_0 as llama.cpp's ggml_vec_dot_q2_0_q8_0: per 32 elements an exact integer sum times the Q8_0
// activation scale, times the block's d (per 32 here rather than per weight block, so the lanes of
// a row share blocks of 64 or 128: a float rounding apart). A unit of 32 is 8 code bytes; four
// bytes hold 16 consecutive elements, those at shift 2s being elements s, s + 4, s + 8 and s + 12.
#define MATVEC_Q2_0(T, QK) \
kernel void mv_##T(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd, \
                   global float* y, int k, int m, int acc) { \
    local float scratch[LPR * RPW]; \
    MATVEC_LANE \
    int nb = k / 32; \
    global const char* qb = q + (size_t) b * k; \
    float s = 0; \
    if (live) { \
        for (int u = sub; u < nb; u += LPR) { \
            global const uchar* blk = wr + (u / ((QK) / 32)) * Q2_0_BLOCK_BYTES(QK); \
            global const uchar* codes = blk + 2 + (u % ((QK) / 32)) * 8; \
            global const char* qu = qb + u * 32; \
            int4 a4 = 0; \
            for (int h = 0; h < 2; h++) { \
                int4 c = convert_int4(vload4(h, codes)); \
                int16 a = convert_int16(vload16(h, qu)); \
                a4 += ((c & 3) - 1) * a.s048c + (((c >> 2) & 3) - 1) * a.s159d \
                    + (((c >> 4) & 3) - 1) * a.s26ae + (((c >> 6) & 3) - 1) * a.s37bf; \
            } \
            s += half_at(blk) * (qd[b * nb + u] * (float) (a4.x + a4.y + a4.z + a4.w)); \
        } \
    } \
    s = row_sum_f(scratch, s); \
    if (live && sub == 0) y[(size_t) b * m + row] = acc ? y[(size_t) b * m + row] + s : s; \
}
MATVEC_Q2_0(q2_0, 64)
MATVEC_Q2_0(q2_0_128, 128)

// ---- matrix x matrix (prompt batches): TILE tokens per work-item, each weight decoded once ----
// Range: (as the matvecs, ceil(rows / TILE)); rows = step[rowsAt], the batch's tokens (STEP_TOKENS)
// or, for the head, its outputs (STEP_OUTPUTS). The same sums as the matvecs, per token.

// TILE comes from the launch settings (-DTILE, tornado-config/opencl: `tile`); 8 when built without it.
#ifndef TILE
#define TILE 8
#endif

#define MATMUL_PROLOGUE \
    MATVEC_LANE \
    int b0 = b * TILE, nt = min(TILE, step[rowsAt] - b0);

#define MATMUL_STORE(VALUE) \
    for (int t = 0; t < TILE; t++) { \
        float r_ = VALUE; \
        if (live && sub == 0 && t < nt) y[(size_t) (b0 + t) * m + row] = acc ? y[(size_t) (b0 + t) * m + row] + r_ : r_; \
    }

#define MATMUL_FLOAT(T) \
kernel void mm_##T(global const uchar* w, ulong rowBytes, float ts, global const float* x, global float* y, int k, int m, int acc, \
                   global const int* step, int rowsAt) { \
    local float scratch[LPR * RPW]; \
    MATMUL_PROLOGUE \
    float s[TILE]; \
    for (int t = 0; t < TILE; t++) s[t] = 0; \
    if (live) { \
        for (int i0 = sub * 32; i0 < k; i0 += LPR * 32) { \
            float c[TILE]; \
            for (int t = 0; t < TILE; t++) c[t] = 0; \
            for (int i = i0; i < min(k, i0 + 32); i++) { \
                float wv = dq_##T(wr, i, ts); \
                for (int t = 0; t < TILE; t++) if (t < nt) c[t] += wv * x[(size_t) (b0 + t) * k + i]; \
            } \
            for (int t = 0; t < TILE; t++) s[t] += c[t]; \
        } \
    } \
    MATMUL_STORE(row_sum_f(scratch, s[t])) \
}
MATMUL_FLOAT(f32) MATMUL_FLOAT(f16) MATMUL_FLOAT(bf16) MATMUL_FLOAT(q8_0) MATMUL_FLOAT(q4_0) MATMUL_FLOAT(q4_k) MATMUL_FLOAT(q6_k)

// The quantized formats: per unit of 32 the codes are decoded once into registers, then an exact
// integer dot with each token's activations, scaled as the matvec scales it.
#define MATMUL_CODES(T, i0) \
    int c[32]; \
    DECODE_##T(c, i0)

// Thirty-two codes from element i0 (a multiple of 32) on: TQ2_0's unit is 32 bytes at one shift, the
// others go element by element.
#define DECODE_tq2_0(c, i0) { \
    global const uchar* wb_ = wr + ((i0) / 256) * 66 + (((i0) % 256) / 128) * 32; \
    int shift_ = 2 * ((((i0) % 256) % 128) / 32); \
    for (int j = 0; j < 32; j++) c[j] = ((wb_[j] >> shift_) & 3) - 1; }
#define DECODE_tq1_0(c, i0) for (int j = 0; j < 32; j++) c[j] = code_tq1_0(wr, (i0) + j);
#define DECODE_q1_0(c, i0) for (int j = 0; j < 32; j++) c[j] = code_q1_0(wr, (i0) + j);
// Q2_0's unit of 32 is 8 consecutive code bytes of one block.
#define DECODE_Q2_0(c, i0, QK) { \
    global const uchar* wb_ = wr + ((i0) / (QK)) * Q2_0_BLOCK_BYTES(QK) + 2 + ((i0) % (QK)) / 4; \
    for (int j = 0; j < 32; j++) c[j] = ((wb_[j / 4] >> (2 * (j % 4))) & 3) - 1; }
#define DECODE_q2_0(c, i0) DECODE_Q2_0(c, i0, 64)
#define DECODE_q2_0_128(c, i0) DECODE_Q2_0(c, i0, 128)

kernel void mm_i2_s(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd,
                    global float* y, int k, int m, int acc, global const int* step, int rowsAt) {
    local int scratch[LPR * RPW];
    MATMUL_PROLOGUE
    int s[TILE];
    for (int t = 0; t < TILE; t++) s[t] = 0;
    if (live) {
        for (int u = sub; u < k / 32; u += LPR) {
            // Unit u is group u % 4 of block u / 4: elements 32u + m at shift 6 - 2g of the block's byte m.
            global const uchar* wb = wr + (u / 4) * 32;
            int shift = 6 - 2 * (u % 4), c[32];
            for (int j = 0; j < 32; j++) c[j] = ((wb[j] >> shift) & 3) - 1;
            for (int t = 0; t < TILE; t++) {
                if (t < nt) {
                    global const char* qt = q + (size_t) (b0 + t) * k + u * 32;
                    int si = 0;
                    for (int j = 0; j < 32; j++) si += c[j] * qt[j];
                    s[t] += si;
                }
            }
        }
    }
    MATMUL_STORE((float) row_sum_i(scratch, s[t]) / qd[b0 + min(t, nt - 1)] * ts)
}

#define MATMUL_QUANT(T, BLOCK, SCALE) \
kernel void mm_##T(global const uchar* w, ulong rowBytes, float ts, global const char* q, global const float* qd, \
                   global float* y, int k, int m, int acc, global const int* step, int rowsAt) { \
    local float scratch[LPR * RPW]; \
    MATMUL_PROLOGUE \
    int nb = k / BLOCK; \
    float s[TILE]; \
    for (int t = 0; t < TILE; t++) s[t] = 0; \
    if (live) { \
        for (int u = sub; u < k / 32; u += LPR) { \
            int i0 = u * 32; \
            MATMUL_CODES(T, i0) \
            float ws = wscale_##T(wr, i0); \
            for (int t = 0; t < TILE; t++) { \
                if (t < nt) { \
                    global const char* qt = q + (size_t) (b0 + t) * k + i0; \
                    int si = 0; \
                    for (int j = 0; j < 32; j++) si += c[j] * qt[j]; \
                    float ad = qd[(b0 + t) * nb + i0 / BLOCK]; \
                    s[t] += SCALE; \
                } \
            } \
        } \
    } \
    MATMUL_STORE(row_sum_f(scratch, s[t])) \
}
MATMUL_QUANT(tq2_0, 256, (float) si * (ws * ad))
MATMUL_QUANT(tq1_0, 256, (float) si * (ws * ad))
MATMUL_QUANT(q1_0, 32, ws * (ad * (float) si))
MATMUL_QUANT(q2_0, 32, ws * (ad * (float) si))
MATMUL_QUANT(q2_0_128, 32, ws * (ad * (float) si))

// ---- element-wise and per-row ops ----

// out = in / rms(in) * w for one row of `dim` by the work-group's lanes.
void rms_norm_row(local acc_t* scratch, global const float* x, global const float* w, global float* out, int dim, float eps) {
    int l = get_local_id(0);
    acc_t s = 0;
    for (int i = l; i < dim; i += LWS) s += (acc_t) (x[i] * x[i]);
    s = wg_sum_acc(scratch, s);
    float mean = (float) (s / dim);
    float scale = 1.0f / sqrt(mean + eps);
    for (int i = l; i < dim; i += LWS) out[i] = x[i] * scale * w[i];
}

// Rows = tokens (or tokens x heads for Qwen3's q/k norms). Range: (LWS, rows), local (LWS, 1).
kernel void rms_norm(global const float* in, global const float* w, global float* out, int dim, float eps) {
    local acc_t scratch[LWS];
    size_t r = get_global_id(1);
    rms_norm_row(scratch, in + r * dim, w, out + r * dim, dim, eps);
}

// RMSNorm fused with the quantization of its output for the matmuls that read it: one launch and
// no second pass over the row from outside the work-group. The same values as the two kernels.
// Range: (LWS, tokens), local (LWS, 1).
kernel void rms_norm_quant_i8_s(global const float* in, global const float* w, global float* out, int dim, float eps,
                                global char* q, global float* qd) {
    local acc_t scratch[LWS];
    local float fscratch[LWS];
    size_t r = get_global_id(1);
    rms_norm_row(scratch, in + r * dim, w, out + r * dim, dim, eps);
    barrier(CLK_GLOBAL_MEM_FENCE);
    quant_i8_s_row(fscratch, out + r * dim, q + r * dim, qd + r, dim);
}

#define RMS_NORM_QUANT_BLOCKS(NAME, BLOCK) \
kernel void rms_norm_quant_##NAME(global const float* in, global const float* w, global float* out, int dim, float eps, \
                                  global char* q, global float* qd) { \
    local acc_t scratch[LWS]; \
    size_t r = get_global_id(1); \
    rms_norm_row(scratch, in + r * dim, w, out + r * dim, dim, eps); \
    barrier(CLK_GLOBAL_MEM_FENCE); \
    for (int blk = get_local_id(0); blk < dim / BLOCK; blk += LWS) { \
        size_t at = r * dim + blk * BLOCK; \
        quant_##NAME##_block(out + at, q + at, qd + r * (dim / BLOCK) + blk); \
    } \
}
RMS_NORM_QUANT_BLOCKS(q8_k, 256)
RMS_NORM_QUANT_BLOCKS(q8_0, 32)

// ggml's RoPE angle: theta_i = pos * scale^i by a float recurrence, as the CPU backend computes it,
// then scaled as RopeScaling.angle does (linear: freqScale * theta; YaRN: blended with theta by the
// ramp over the pairs [corrLow, corrHigh]). The ramp's division goes through acc_t: a double quotient
// rounded to float is the correctly rounded float one, which OpenCL's float division need not be.
// rope and kv_shift both rotate through rope_rotate; the angle is linear in pos, so a K-shift by
// -drop composes with the rotation at p into p - drop. cos and sin are multiplied by `magnitude`:
// rope passes YaRN's mscale, kv_shift 1 (the stored keys carry it already).
float2 rope_rotate(float x0, float x1, int pos, int i, float thetaScale, float freqScale, float extFactor,
                   float corrLow, float corrHigh, float magnitude) {
    float theta = (float) pos;
    for (int j = 0; j < i; j++) theta *= thetaScale;
    float angle = freqScale * theta;
    if (extFactor != 0.0f) {
        float y = (float) ((acc_t) ((float) i - corrLow) / (acc_t) fmax(0.001f, corrHigh - corrLow));
        float mix = (1.0f - fmin(1.0f, fmax(0.0f, y))) * extFactor;
        angle = angle * (1.0f - mix) + theta * mix;
    }
    float c = cos(angle) * magnitude, s = sin(angle) * magnitude;
    return (float2) (x0 * c - x1 * s, x0 * s + x1 * c);
}

// RoPE at each row's own position. Range: (heads * dims/2, batch).
kernel void rope(global float* x, global const int* step, int heads, int headDim, int dims, float thetaScale, int neox,
                 float freqScale, float extFactor, float mscale, float corrLow, float corrHigh) {
    int id = get_global_id(0), b = get_global_id(1), pairs = dims / 2;
    int h = id / pairs, i = id % pairs;
    if (h >= heads) return;
    global float* base = x + (size_t) b * heads * headDim + h * headDim;
    int a = neox ? i : 2 * i, o = neox ? i + pairs : 2 * i + 1;
    float2 r = rope_rotate(base[a], base[o], STEP_POSITION(step, b), i, thetaScale, freqScale, extFactor, corrLow, corrHigh, mscale);
    base[a] = r.x;
    base[o] = r.y;
}

// A layer's F16 cache holds slots x ctx positions of kvDim values, slot-major, then position-major:
// (slot, position) starts at slot_at(slot, ctx, kvDim) + position * kvDim.
size_t slot_at(int slot, int ctx, int kvDim) { return (size_t) slot * ctx * kvDim; }

// K and V rows into the layer's cache at their slots and positions. Range: (kvDim, batch).
kernel void store_kv(global const float* k, global const float* v, global half* kc, global half* vc, global const int* step,
                     ulong layerOffset, int kvDim, int ctx) {
    int i = get_global_id(0), b = get_global_id(1);
    if (i >= kvDim) return;
    size_t at = layerOffset + slot_at(STEP_SLOT(step, b), ctx, kvDim) + (size_t) STEP_POSITION(step, b) * kvDim + i;
    vstore_half_rte(k[(size_t) b * kvDim + i], at, kc);
    vstore_half_rte(v[(size_t) b * kvDim + i], at, vc);
}

// A context shift (llama.cpp's K-shift) in one layer's slot starting at element `at`: positions
// [keep + drop, length) move down by drop, keys rotated by -drop (dims 0: not rotated). One
// work-item per pair of values of a position, walking the positions upwards, so no work-item reads
// what another writes. Pairs below dims/2 are rope's pairs; the rest pair up the unrotated tail.
// Range: (kvDim / 2).
kernel void kv_shift(global half* kc, global ushort* vc, ulong at, int headDim, int keep, int drop, int length,
                     int dims, float thetaScale, int neox, float freqScale, float extFactor, float corrLow, float corrHigh) {
    int id = get_global_id(0), half_head = headDim / 2, pairs = dims / 2;
    int h = id / half_head, i = id % half_head;
    int a = i < pairs ? (neox ? i : 2 * i) : dims + 2 * (i - pairs);
    int o = i < pairs ? (neox ? i + pairs : 2 * i + 1) : a + 1;
    int kvDim = get_global_size(0) * 2;
    for (int t = keep + drop; t < length; t++) {
        size_t from = at + (size_t) t * kvDim + h * headDim, to = from - (size_t) drop * kvDim;
        float x0 = vload_half(from + a, kc), x1 = vload_half(from + o, kc);
        float2 r = i < pairs ? rope_rotate(x0, x1, -drop, i, thetaScale, freqScale, extFactor, corrLow, corrHigh, 1.0f) : (float2) (x0, x1);
        vstore_half_rte(r.x, to + a, kc);
        vstore_half_rte(r.y, to + o, kc);
        vc[to + a] = vc[from + a];
        vc[to + o] = vc[from + o];
    }
}

// The scores sc[0..len) of one (head, token), each lane holding the largest of its own in mx:
// sc[t] = exp(sc[t] - the largest), and their sum, visible to the whole work-group on return.
float attention_softmax(local float* scratch, global float* sc, int len, float mx) {
    int l = get_local_id(0);
    mx = wg_max_f(scratch, mx);
    float sum = 0;
    for (int t = l; t < len; t += LWS) {
        float e = exp(sc[t] - mx);
        sc[t] = e;
        sum += e;
    }
    sum = wg_sum_f(scratch, sum);
    barrier(CLK_GLOBAL_MEM_FENCE);
    return sum;
}

// Causal GQA attention: one work-group per (head, token), over the token's own slot up to its
// position; scores go through `att` (heads x ctx per token) in global memory so any context length
// fits. Range: (heads * LWS, batch), local (LWS, 1).
kernel void attention(global const float* q, global const half* kc, global const half* vc, global float* att,
                      global float* out, global const int* step, ulong layerOffset, int heads, int kvHeads,
                      int headDim, int ctx, float scale) {
    local float scratch[LWS];
    int h = get_group_id(0), b = get_global_id(1), l = get_local_id(0);
    int kvDim = kvHeads * headDim, kvh = h / (heads / kvHeads), len = STEP_POSITION(step, b) + 1;
    global const float* qh = q + (size_t) b * heads * headDim + h * headDim;
    global float* sc = att + ((size_t) b * heads + h) * ctx;
    size_t cached = layerOffset + slot_at(STEP_SLOT(step, b), ctx, kvDim);
    global const half* kbase = kc + cached + kvh * headDim;
    global const half* vbase = vc + cached + kvh * headDim;
    float mx = -INFINITY;
    for (int t = l; t < len; t += LWS) {
        global const half* kt = kbase + (size_t) t * kvDim;
        float s = 0;
        for (int d = 0; d < headDim; d++) s += qh[d] * vload_half(d, kt);
        s *= scale;
        sc[t] = s;
        mx = fmax(mx, s);
    }
    float sum = attention_softmax(scratch, sc, len, mx);
    float inv = 1.0f / sum;
    global float* o = out + (size_t) b * heads * headDim + h * headDim;
    for (int d = l; d < headDim; d += LWS) {
        float acc = 0;
        for (int t = 0; t < len; t++) acc += sc[t] * vload_half(d, vbase + (size_t) t * kvDim);
        o[d] = acc * inv;
    }
}

// Range: (count). The rows in use are the first n (or the outputs), so count = rows * width is set per call.
kernel void add(global float* acc, global const float* x) {
    size_t i = get_global_id(0);
    acc[i] += x[i];
}

kernel void scale(global float* x, float f) {
    size_t i = get_global_id(0);
    x[i] *= f;
}

kernel void glu_silu(global const float* gate, global const float* up, global float* out) {
    size_t i = get_global_id(0);
    float g = gate[i];
    out[i] = g / (1.0f + exp(-g)) * up[i];
}

kernel void glu_relu2(global const float* gate, global const float* up, global float* out) {
    size_t i = get_global_id(0);
    float g = fmax(gate[i], 0.0f);
    out[i] = g * g * up[i];
}

// The index of the largest of n values, the lowest index on ties (greedy decoding on the device, so
// only 4 bytes come back). Range: (LWS), local (LWS).
kernel void argmax(global const float* x, int n, global int* out) {
    local float best[LWS];
    local int at[LWS], bad[LWS];
    int l = get_local_id(0);
    float bv = -INFINITY;
    int bi = n, nf = 0;
    for (int i = l; i < n; i += LWS) {
        if (x[i] > bv || bi == n) { bv = x[i]; bi = i; }
        nf |= !isfinite(x[i]);
    }
    best[l] = bv;
    at[l] = bi;
    bad[l] = nf;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = LWS / 2; h > 0; h >>= 1) {
        if (l < h && (best[l + h] > best[l] || (best[l + h] == best[l] && at[l + h] < at[l]))) {
            best[l] = best[l + h];
            at[l] = at[l + h];
        }
        if (l < h) bad[l] |= bad[l + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    // -1: a logit is NaN or infinite, and no token is the answer (the host says which tensor is to blame).
    if (l == 0) out[0] = bad[0] ? -1 : at[0];
}

// out[j] = the row of in that is the j-th output: the head runs only on rows whose logits come
// back. Range: (width, outputs).
kernel void select_outputs(global const float* in, global float* out, global const int* step, int width) {
    int i = get_global_id(0), j = get_global_id(1);
    if (i < width) out[(size_t) j * width + i] = in[(size_t) STEP_OUTPUT_ROW(step, j) * width + i];
}

// ---- the compressed KV cache types (io.ternion.graph.KvType): stored in KvType.encode's bytes ----
// A head vector (headDim values of one KV head at one position) is what KvType.encode writes: blocks
// of KV_BLOCK values (the last one shorter), each an f16 scale then its codes, with no padding; the
// quantized types (all but F16) rotate the vector first (KvRotation: signs, Walsh-Hadamard butterflies per block of
// rotN, times rotNorm). A layer's cache of one type holds slots x ctx rows of kvHeads heads of
// headBytes, slot-major then position-major as the F16 cache's, at a byte offset. The F16 pair keeps
// store_kv and attention above; these kernels serve every other pair (an F16 half of a mixed pair
// included, clamped to +-65504 as KvType.F16 encodes it). Attention reads the codes where they lie:
// it scores a rotated query against rotated keys, and turns a rotated output back once per head.
// `book` of a turbo type: its codebook at [0, 16) and the boundaries between its values at [16, 32).

// The types by their KvType ordinals.
#define KV_F16 0
#define KV_Q8_0 1
#define KV_Q4_0 2
#define KV_TURBO4 3
#define KV_TURBO3 4
#define KV_BLOCK 32
#define KV_BOUNDS 16
// The largest head the rotated and quantizing kernels hold in private or local memory (ClOps passes
// its KV_MAX_HEAD).
#ifndef KV_MAX_HEAD
#define KV_MAX_HEAD 256
#endif

// Every type but F16 is rotated (KvType.rotated: Q8_0 and Q4_0 too, as llama.cpp rotates a quantized cache).
bool kv_rotated(int type) { return type != KV_F16; }

int kv_block_bytes(int type, int n) {
    switch (type) {
        case KV_Q8_0: return 2 + n;
        case KV_Q4_0: case KV_TURBO4: return 2 + (n + 1) / 2;
        case KV_TURBO3: return 2 + (n + 3) / 4 + (n + 7) / 8;
        default: return 2 * n;
    }
}

// Halves byte by byte: a head of 5 or 7 bytes leaves the next one's scale at an odd address.
float kv_get_half(global const uchar* p) {
    ushort h = (ushort) (p[0] | p[1] << 8);
    return vload_half(0, (const half*) &h);
}

void kv_put_half(global uchar* p, float v) {
    ushort h;
    vstore_half_rte(clamp(v, -65504.0f, 65504.0f), 0, (half*) &h);
    p[0] = (uchar) h;
    p[1] = (uchar) (h >> 8);
}

// Code j of a block of n (element j's index or nibble) for the packed types, as KvType.decodeStored reads it.
int kv_code(global const uchar* c, int type, int n, int j) {
    if (type == KV_TURBO3) return ((c[j / 4] >> 2 * (j % 4)) & 3) | ((c[(n + 3) / 4 + j / 8] >> (j % 8)) & 1) << 2;
    int mid = n / 2;
    return j < mid ? c[j] & 15 : c[j - mid] >> 4;
}

// q . (a stored head), one scale per block: the sum of q times the codes' values, then times the scale.
float kv_dot(local const float* q, global const uchar* head, int headDim, int type, global const float* book) {
    float s = 0;
    if (type == KV_F16) {
        for (int d = 0; d < headDim; d++) s += q[d] * kv_get_half(head + 2 * d);
        return s;
    }
    for (int b0 = 0; b0 < headDim; b0 += KV_BLOCK) {
        int n = min(KV_BLOCK, headDim - b0);
        float scale = kv_get_half(head), bs = 0;
        global const uchar* c = head + 2;
        local const float* qb = q + b0;
        if (type == KV_Q8_0) {
            for (int j = 0; j < n; j++) bs += qb[j] * (float) (char) c[j];
        } else if (type == KV_TURBO3) {
            for (int j = 0; j < n; j++) bs += qb[j] * book[kv_code(c, type, n, j)];
        } else {
            int mid = n / 2;
            for (int j = 0; j < mid; j++) {
                int lo = c[j] & 15, hi = c[j] >> 4;
                bs += type == KV_Q4_0 ? qb[j] * (lo - 8) + qb[j + mid] * (hi - 8) : qb[j] * book[lo] + qb[j + mid] * book[hi];
            }
        }
        s += bs * scale;
        head += kv_block_bytes(type, n);
    }
    return s;
}

// KvRotation's butterflies over a whole head in local memory, by the work-group: every block of rotN
// at once, as the pairs (j, j + len) with j's bit len clear never leave their block.
void kv_butterflies_local(local float* x, int headDim, int rotN) {
    for (int len = 1; len < rotN; len <<= 1) {
        for (int p = get_local_id(0); p < headDim / 2; p += LWS) {
            int j = p / len * 2 * len + p % len;
            float a = x[j], c = x[j + len];
            x[j] = a + c;
            x[j + len] = a - c;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// KvRotation's butterflies over one block of rotN of a head in private memory, from element b0.
void kv_butterflies(float* y, int b0, int rotN) {
    for (int len = 1; len < rotN; len <<= 1) {
        for (int j = 0; j < rotN; j += 2 * len) {
            for (int i = b0 + j; i < b0 + j + len; i++) {
                float a = y[i], c = y[i + len];
                y[i] = a + c;
                y[i + len] = a - c;
            }
        }
    }
}

// KvRotation.forward of a head in private memory: signs, butterflies, times rotNorm, block by block.
void kv_rotate(float* y, int headDim, global const float* signs, int rotN, float rotNorm) {
    for (int b0 = 0; b0 < headDim; b0 += rotN) {
        for (int i = 0; i < rotN; i++) y[b0 + i] *= signs[i];
        kv_butterflies(y, b0, rotN);
        for (int i = 0; i < rotN; i++) y[b0 + i] *= rotNorm;
    }
}

// KvRotation.inverse: butterflies, then times rotNorm * sign.
void kv_rotate_back(float* y, int headDim, global const float* signs, int rotN, float rotNorm) {
    for (int b0 = 0; b0 < headDim; b0 += rotN) {
        kv_butterflies(y, b0, rotN);
        for (int i = 0; i < rotN; i++) y[b0 + i] *= rotNorm * signs[i];
    }
}

// KvType.encode's bytes of a head of any type, already rotated when the type is, at out.
void kv_encode(const float* y, global uchar* out, int headDim, int type, global const float* book) {
    if (type == KV_F16) {
        for (int i = 0; i < headDim; i++) kv_put_half(out + 2 * i, y[i]);
        return;
    }
    for (int b0 = 0; b0 < headDim; b0 += KV_BLOCK) {
        int n = min(KV_BLOCK, headDim - b0);
        const float* v = y + b0;
        global uchar* c = out + 2;
        if (type == KV_Q8_0) {
            // ggml's quantize_row_q8_0_ref.
            float amax = 0;
            for (int j = 0; j < n; j++) amax = fmax(amax, fabs(v[j]));
            float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
            kv_put_half(out, d);
            for (int j = 0; j < n; j++) c[j] = (uchar) (char) (int) round(v[j] * id);
        } else if (type == KV_Q4_0) {
            // ggml's quantize_row_q4_0_ref.
            float amax = 0, max = 0;
            for (int j = 0; j < n; j++) {
                if (amax < fabs(v[j])) {
                    amax = fabs(v[j]);
                    max = v[j];
                }
            }
            float d = max / -8, id = d != 0 ? 1.0f / d : 0.0f;
            kv_put_half(out, d);
            int mid = n / 2;
            for (int j = 0; j < mid; j++) {
                int lo = min(15, (int) (v[j] * id + 8.5f)), hi = min(15, (int) (v[j + mid] * id + 8.5f));
                c[j] = (uchar) (lo | hi << 4);
            }
        } else {
            // The codebook types: indices against the boundaries at the block's RMS, then the
            // least-squares scale for those indices.
            int levels = type == KV_TURBO4 ? 16 : 8;
            acc_t ss = 0;
            for (int j = 0; j < n; j++) ss += (acc_t) v[j] * v[j];
            float sigma = (float) sqrt(ss / n);
            uchar idx[KV_BLOCK];
            acc_t yc = 0, cc = 0;
            for (int j = 0; j < n; j++) {
                int i = 0;
                if (sigma > 0) {
                    float u = v[j] / sigma;
                    while (i < levels - 1 && u > book[KV_BOUNDS + i]) i++;
                }
                idx[j] = (uchar) i;
                float cv = book[i];
                yc += (acc_t) (v[j] * cv);
                cc += (acc_t) (cv * cv);
            }
            kv_put_half(out, sigma > 0 ? (float) (yc / cc) : 0.0f);
            if (type == KV_TURBO4) {
                int mid = n / 2;
                for (int j = 0; j < mid; j++) c[j] = (uchar) (idx[j] | idx[j + mid] << 4);
            } else {
                int low = (n + 3) / 4, high = (n + 7) / 8;
                for (int j = 0; j < low + high; j++) c[j] = 0;
                for (int j = 0; j < n; j++) {
                    c[j / 4] |= (uchar) ((idx[j] & 3) << 2 * (j % 4));
                    c[low + j / 8] |= (uchar) ((idx[j] >> 2) << j % 8);
                }
            }
        }
        out += kv_block_bytes(type, n);
    }
}

// KvType.decodeStored: a head's values as stored (still rotated for a rotated type) into y.
void kv_decode(global const uchar* head, float* y, int headDim, int type, global const float* book) {
    if (type == KV_F16) {
        for (int i = 0; i < headDim; i++) y[i] = kv_get_half(head + 2 * i);
        return;
    }
    for (int b0 = 0; b0 < headDim; b0 += KV_BLOCK) {
        int n = min(KV_BLOCK, headDim - b0);
        float d = kv_get_half(head);
        global const uchar* c = head + 2;
        for (int j = 0; j < n; j++) {
            y[b0 + j] = type == KV_Q8_0 ? (float) (char) c[j] * d
                    : type == KV_Q4_0 ? (float) (kv_code(c, type, n, j) - 8) * d
                    : d * book[kv_code(c, type, n, j)];
        }
        head += kv_block_bytes(type, n);
    }
}

// Stores K or V rows of one type at their slots and positions: one work-item per head vector, which
// it rotates and encodes exactly as KvType.encode, so the cache holds the same bytes. With `centre`
// (keys of a type but F16: KvType's key centring) it stores x - mu, mu being the slot's first key:
// a row at position 0 writes its own x as mu at `mean` (slot-major, kvHeads * headDim floats per
// slot, from float `meanOffset`); a later row of the same step reads that row's x from `in` instead,
// as the rows run in parallel. Range: (kvHeads, batch).
kernel void store_kv_typed(global const float* in, global uchar* cache, global const int* step, ulong layerOffset,
                           int kvHeads, int headDim, int ctx, int type, int headBytes,
                           global const float* signs, int rotN, float rotNorm, global const float* book,
                           global float* mean, ulong meanOffset, int centre) {
    int h = get_global_id(0), b = get_global_id(1);
    if (h >= kvHeads) return;
    global const float* x = in + ((size_t) b * kvHeads + h) * headDim;
    int slot = STEP_SLOT(step, b), pos = STEP_POSITION(step, b);
    size_t row = (size_t) slot * ctx + pos;
    global uchar* out = cache + layerOffset + (row * kvHeads + h) * headBytes;
    if (type == KV_F16) {
        for (int i = 0; i < headDim; i++) kv_put_half(out + 2 * i, x[i]);
        return;
    }
    float y[KV_MAX_HEAD];
    for (int i = 0; i < headDim; i++) y[i] = x[i];
    if (centre) {
        global float* mu = mean + meanOffset + ((size_t) slot * kvHeads + h) * headDim;
        global const float* first = mu;
        if (pos == 0) {
            for (int i = 0; i < headDim; i++) mu[i] = x[i];
            first = x;
        } else {
            for (int r = 0; r < b; r++) {
                if (STEP_SLOT(step, r) == slot && STEP_POSITION(step, r) == 0) first = in + ((size_t) r * kvHeads + h) * headDim;
            }
        }
        for (int i = 0; i < headDim; i++) y[i] = x[i] - first[i];
    }
    if (kv_rotated(type)) kv_rotate(y, headDim, signs, rotN, rotNorm);
    kv_encode(y, out, headDim, type, book);
}

// A context shift of caches of any types, as the CPU's KvCache.moveAndRotate: positions [keep + drop,
// length) of the slot whose rows start at byte kSlotAt of kc and vSlotAt of vc move down by drop.
// Each key is decoded (turned back when its type is rotated, its slot's mu added when centred:
// `mean` at float meanAt is the slot's mu, kvHeads * headDim floats), its first `dims` values
// turned by -drop with `turn` (cos and sin of each rope pair, interleaved, worked out on the host as
// the CPU backend's rope does, so the bytes are the CPU's), then centred, rotated and encoded again
// as store_kv_typed does; values move as they are stored. One work-group per KV head; its lanes take
// LWS positions at a time, upwards, each reading its own into private memory before the barrier and
// writing it drop rows down after it: a row written was read before, by this chunk or an earlier
// one, and no later chunk reads it. Every head is encoded by one lane, so the bytes do not depend
// on LWS. Range: (kvHeads * LWS), local (LWS).
kernel void kv_shift_typed(global uchar* kc, global uchar* vc, ulong kSlotAt, ulong vSlotAt, int kvHeads, int headDim,
                           int keep, int drop, int length, int kType, int kHeadBytes, global const float* kBook, int vHeadBytes,
                           global const float* signs, int rotN, float rotNorm, global const float* mean, ulong meanAt, int centre,
                           global const float* turn, int dims, int neox) {
    int h = get_group_id(0), l = get_local_id(0), moved = length - keep - drop, pairs = dims / 2;
    size_t kRow = (size_t) kvHeads * kHeadBytes, vRow = (size_t) kvHeads * vHeadBytes;
    global uchar* kHead = kc + kSlotAt + (size_t) h * kHeadBytes;
    global uchar* vHead = vc + vSlotAt + (size_t) h * vHeadBytes;
    global const float* mu = mean + meanAt + (size_t) h * headDim;
    bool rotated = kv_rotated(kType);
    float y[KV_MAX_HEAD];
    uchar v[2 * KV_MAX_HEAD];
    for (int t0 = 0; t0 < moved; t0 += LWS) {
        int t = t0 + l;
        if (t < moved) {
            size_t from = (size_t) (keep + drop + t);
            kv_decode(kHead + from * kRow, y, headDim, kType, kBook);
            if (rotated) kv_rotate_back(y, headDim, signs, rotN, rotNorm);
            if (centre) for (int i = 0; i < headDim; i++) y[i] += mu[i];
            for (int i = 0; i < pairs; i++) {
                int a = neox ? i : 2 * i, o = neox ? i + pairs : 2 * i + 1;
                float x0 = y[a], x1 = y[o], c = turn[2 * i], s = turn[2 * i + 1];
                y[a] = x0 * c - x1 * s;
                y[o] = x0 * s + x1 * c;
            }
            if (centre) for (int i = 0; i < headDim; i++) y[i] -= mu[i];
            if (rotated) kv_rotate(y, headDim, signs, rotN, rotNorm);
            for (int i = 0; i < vHeadBytes; i++) v[i] = vHead[from * vRow + i];
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
        if (t < moved) {
            size_t to = (size_t) (keep + t);
            kv_encode(y, kHead + to * kRow, headDim, kType, kBook);
            for (int i = 0; i < vHeadBytes; i++) vHead[to * vRow + i] = v[i];
        }
    }
}

// Causal GQA attention over caches of any types, as `attention` above: one work-group per (head,
// token). The query goes to local memory, rotated when the keys are; the output is gathered there
// and rotated back when the values are rotated. Range: (heads * LWS, batch), local (LWS, 1).
kernel void attention_kv_typed(global const float* q, global const uchar* kc, global const uchar* vc, global float* att,
                               global float* out, global const int* step, ulong kOffset, ulong vOffset,
                               int heads, int kvHeads, int headDim, int ctx, float scale,
                               int kType, int kHeadBytes, global const float* kBook,
                               int vType, int vHeadBytes, global const float* vBook,
                               global const float* signs, int rotN, float rotNorm) {
    local float scratch[LWS];
    local float x[KV_MAX_HEAD];
    int h = get_group_id(0), b = get_global_id(1), l = get_local_id(0);
    int kvh = h / (heads / kvHeads), len = STEP_POSITION(step, b) + 1;
    global const float* qh = q + ((size_t) b * heads + h) * headDim;
    global float* sc = att + ((size_t) b * heads + h) * ctx;
    size_t slotRow = (size_t) STEP_SLOT(step, b) * ctx * kvHeads + kvh;
    global const uchar* kbase = kc + kOffset + slotRow * kHeadBytes;
    global const uchar* vbase = vc + vOffset + slotRow * vHeadBytes;
    size_t kStride = (size_t) kvHeads * kHeadBytes, vStride = (size_t) kvHeads * vHeadBytes;
    bool rotK = kv_rotated(kType);
    for (int i = l; i < headDim; i += LWS) x[i] = rotK ? qh[i] * signs[i % rotN] : qh[i];
    barrier(CLK_LOCAL_MEM_FENCE);
    if (rotK) {
        kv_butterflies_local(x, headDim, rotN);
        for (int i = l; i < headDim; i += LWS) x[i] *= rotNorm;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float mx = -INFINITY;
    for (int t = l; t < len; t += LWS) {
        float s = kv_dot(x, kbase + t * kStride, headDim, kType, kBook) * scale;
        sc[t] = s;
        mx = fmax(mx, s);
    }
    float sum = attention_softmax(scratch, sc, len, mx); // its barriers also end every lane's reads of the query in x
    float inv = 1.0f / sum;
    global float* o = out + ((size_t) b * heads + h) * headDim;
    bool rotV = kv_rotated(vType);
    for (int d = l; d < headDim; d += LWS) {
        float acc = 0;
        if (vType == KV_F16) {
            for (int t = 0; t < len; t++) acc += sc[t] * kv_get_half(vbase + t * vStride + 2 * d);
        } else {
            // Where element d lies in every head: its block's scale, and its code's byte and shift.
            int blk = d / KV_BLOCK, j = d % KV_BLOCK, n = min(KV_BLOCK, headDim - blk * KV_BLOCK), mid = n / 2;
            global const uchar* p = vbase + blk * kv_block_bytes(vType, KV_BLOCK);
            if (vType == KV_Q8_0) {
                for (int t = 0; t < len; t++, p += vStride) acc += sc[t] * (((char) p[2 + j]) * kv_get_half(p));
            } else if (vType == KV_TURBO3) {
                int lowAt = 2 + j / 4, lowShift = 2 * (j % 4), highAt = 2 + (n + 3) / 4 + j / 8, highShift = j % 8;
                for (int t = 0; t < len; t++, p += vStride) {
                    int code = ((p[lowAt] >> lowShift) & 3) | ((p[highAt] >> highShift) & 1) << 2;
                    acc += sc[t] * (kv_get_half(p) * vBook[code]);
                }
            } else {
                int at = 2 + (j < mid ? j : j - mid), shift = j < mid ? 0 : 4;
                for (int t = 0; t < len; t++, p += vStride) {
                    int code = (p[at] >> shift) & 15;
                    acc += sc[t] * (vType == KV_Q4_0 ? (code - 8) * kv_get_half(p) : kv_get_half(p) * vBook[code]);
                }
            }
        }
        if (rotV) x[d] = acc * inv;
        else o[d] = acc * inv;
    }
    if (rotV) {
        barrier(CLK_LOCAL_MEM_FENCE);
        kv_butterflies_local(x, headDim, rotN);
        for (int i = l; i < headDim; i += LWS) o[i] = x[i] * (rotNorm * signs[i % rotN]);
    }
}
