/* One no-grad step of a plain LSTM stack for one row (batch-1 generation) with int8 weights,
 * and an int8 matrix-vector product (the output layer), for rnnkit.models.int8_language_model.
 *
 * Weights are int8 with one float scale per output row (rnnkit.models.quantized: W ~ s Q);
 * activations stay float. A batch-1 step reads every weight once and does two flops per weight,
 * so its time is the time to stream the weights through the caches: int8 moves a quarter of the
 * bytes of float32. Each int8 weight is widened to float in registers and multiplied there, so
 * the result is the float model's with weights s Q, up to the order of the sums:
 *   a = s_ih (Q_ih x_t) + s_hh (Q_hh h_{t-1}) + b,   b = b_ih + b_hh,  gates i, f, g, o:
 *   c_t = s(a_f) c_{t-1} + s(a_i) tanh(a_g),   h_t = s(a_o) tanh(c_t).
 * This portable path is plain C that the compiler vectorises (-O3 -march=native).
 *
 * Where the CPU has AVX-512 VNNI (the library is built for the machine it runs on), a second
 * path multiplies int8 by int8 with `vpdpbusd` (64 multiply-adds per instruction): each step
 * quantizes its activations too, x and h_{t-1} of every level, symmetric per vector,
 *   s_x = max |x| / 127,  q_x = round(x / s_x),   a = s_ih s_x (Q_ih q_x) + s_hh s_h (Q_hh q_h) + b,
 * as onnxruntime's dynamic quantization does; `vpdpbusd` takes unsigned activations, so q + 128
 * is fed and 128 times each row's sum of Q is taken back. Its layout (int8_step.py) pads each
 * panel to UNITS units and each part (x rows, h rows) to a multiple of 4 rows: for each group
 * of 4 rows, the 4 UNITS columns' 4 bytes side by side (what one `vpdpbusd` lane sums); then
 * five float vectors of 4 UNITS: s_ih, s_hh, b, and the row sums of Q_ih and Q_hh.
 *
 * The step of a whole language model (rnnkit_int8_lm_step: the stack, then the output layer)
 * runs in one team of threads (parallel.h): each level's panels and the output rows are split
 * statically, so a thread always multiplies the same weights and its share stays in its own
 * core's cache from one token to the next (the 2 x 512 LSTM's 3.4 MB of int8 do not fit one
 * core's 2 MB L2, each half does), with a barrier after each level.
 *
 * Layout (made once by int8_step.py): hidden units in panels of UNITS units (the last may hold
 * fewer, u). Panel p is a contiguous (I + H, 4 u) int8 block: row m < I holds, gate-major, the
 * weights that multiply x_t[m] for the panel's units; rows I.. those that multiply h_{t-1}.
 * Beside it, 4 u scales for W_ih, 4 u for W_hh and 4 u biases, in the same column order. So a
 * panel's accumulators stay in registers over the I + H rows and finish its units at once.
 */
#include <stdint.h>

#include "fastmath.h"
#include "parallel.h"

#define UNITS 16

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f32(-x)); }

/* acc (width) += sum over k rows m of v[m] * float(w row m) */
static inline __attribute__((always_inline)) void
accumulate(long width, long k, const float *restrict v, const int8_t *restrict w,
           float *restrict acc) {
    for (long m = 0; m < k; m++) {
        const float x = v[m];
        const int8_t *restrict row = w + m * width;
        for (long q = 0; q < width; q++) acc[q] += x * (float)row[q];
    }
}

/* one panel of u units: gates from x (I) and h (H), then the new h and c of those units */
static inline __attribute__((always_inline)) void
panel(long u, long in, long hs, const int8_t *restrict w, const float *restrict scale,
      const float *restrict x, const float *restrict h, const float *restrict c_prev,
      float *restrict h_new, float *restrict c_new) {
    const long width = 4 * u;
    float ax[4 * UNITS] = {0}, ah[4 * UNITS] = {0};
    accumulate(width, in, x, w, ax);
    accumulate(width, hs, h, w + in * width, ah);
    const float *s_ih = scale, *s_hh = scale + width, *b = scale + 2 * width;
    for (long j = 0; j < u; j++) {
        float a[4];
        for (int g = 0; g < 4; g++) {
            long q = g * u + j;
            a[g] = ax[q] * s_ih[q] + ah[q] * s_hh[q] + b[q];
        }
        float c = sigmoid_f(a[1]) * c_prev[j] + sigmoid_f(a[0]) * tanh_f32(a[2]);
        c_new[j] = c;
        h_new[j] = sigmoid_f(a[3]) * tanh_f32(c);
    }
}

/* Panels [p0, p1) of one LSTM level: x (I), h_prev and c_prev (H) -> those panels' units of
 * h_new and c_new (H). */
static void level(long p0, long p1, long in, long hs, const int8_t *w, const float *scale,
                  const float *x, const float *h_prev, const float *c_prev, float *h_new,
                  float *c_new) {
    for (long p = p0; p < p1; p++) {
        long u = hs - p * UNITS < UNITS ? hs - p * UNITS : UNITS;
        const int8_t *wp = w + p * (in + hs) * 4 * UNITS;
        const float *sp = scale + p * 12 * UNITS;
        long o = p * UNITS;
        if (u == UNITS)  /* constant width: the compiler unrolls the accumulators */
            panel(UNITS, in, hs, wp, sp, x, h_prev, c_prev + o, h_new + o, c_new + o);
        else
            panel(u, in, hs, wp, sp, x, h_prev, c_prev + o, h_new + o, c_new + o);
    }
}

/* rows [r0, r1) of y = scale * (Q x) + bias, Q (rows, cols) int8 row-major; bias may be NULL */
static void gemv_rows(long r0, long r1, long cols, const int8_t *q, const float *s, const float *b,
                      const float *v, float *out) {
    for (long r = r0; r < r1; r++) {
        const int8_t *restrict row = q + r * cols;
        float acc = 0.0f;
        for (long j = 0; j < cols; j++) acc += v[j] * (float)row[j];
        out[r] = acc * s[r] + (b ? b[r] : 0.0f);
    }
}

/* y (rows) = scale * (Q x) + bias, Q (rows, cols) int8 row-major; bias may be NULL. */
void rnnkit_int8_gemv(long rows, long cols, const void *w, const void *scale, const void *bias,
                      const void *x, void *y) {
    gemv_rows(0, rows, cols, w, scale, bias, x, y);
}

/* 1 when the AVX-512 VNNI path is compiled in (rnnkit_int8_lm_step's vnni does work); named
 * outside the rnnkit_ prefix, which the binding reads from definitions with arguments only. */
int int8_step_has_vnni(void) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    return 1;
#else
    return 0;
#endif
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>

/* q (n4 bytes) = round(v / s) + 128 for n values, 128 (zero) beyond; returns s, or NaN when
 * a value is NaN (so the step's outputs are NaN, as the float path's would be) */
static float quantize_u8(const float *v, long n, long n4, uint8_t *q) {
    float m = 0.0f;
    int nan = 0;
    for (long k = 0; k < n; k++) {
        nan |= v[k] != v[k];
        m = fabsf(v[k]) > m ? fabsf(v[k]) : m;
    }
    float s = m > 0.0f ? m / 127.0f : 1.0f, inv = 1.0f / s;
    for (long k = 0; k < n; k++) q[k] = v[k] == v[k] ? (uint8_t)((int)lrintf(v[k] * inv) + 128) : 128;
    for (long k = n; k < n4; k++) q[k] = 128;
    return nan ? NAN : s;
}

/* acc[4] += the panel part's rows (k4 of them, in groups of 4) times q */
static inline void dot_part(long k4, const int8_t *w, const uint8_t *q, __m512i acc[4]) {
    for (long k = 0; k < k4; k += 4, w += 4 * 4 * UNITS) {
        __m512i v = _mm512_set1_epi32(*(const int32_t *)(q + k));
        for (int g = 0; g < 4; g++)
            acc[g] = _mm512_dpbusd_epi32(acc[g], v, _mm512_loadu_si512((const void *)(w + g * 64)));
    }
}

/* level()'s panels [p0, p1) in the VNNI layout. Each thread quantizes x and h_prev itself (the
 * same bytes in every thread, which costs less than a second barrier per level). */
static void level_vnni(long p0, long p1, long in, long hs, const int8_t *w, const float *f,
                       const float *x, const float *h_prev, const float *c_prev, float *h_new,
                       float *c_new) {
    const long in4 = (in + 3) & ~3L, hs4 = (hs + 3) & ~3L, width = 4 * UNITS;
    uint8_t qx[in4], qh[hs4];
    const float sx = quantize_u8(x, in, in4, qx), sh = quantize_u8(h_prev, hs, hs4, qh);
    for (long p = p0; p < p1; p++) {
        long u = hs - p * UNITS < UNITS ? hs - p * UNITS : UNITS, o = p * UNITS;
        const int8_t *wp = w + p * (in4 + hs4) * width;
        const float *fp = f + p * 5 * width;
        __m512i ax[4], ah[4];
        for (int g = 0; g < 4; g++) ax[g] = ah[g] = _mm512_setzero_si512();
        dot_part(in4, wp, qx, ax);
        dot_part(hs4, wp + in4 * width, qh, ah);
        int32_t ix[4 * UNITS], ih[4 * UNITS];
        for (int g = 0; g < 4; g++) {
            _mm512_storeu_si512((void *)(ix + g * UNITS), ax[g]);
            _mm512_storeu_si512((void *)(ih + g * UNITS), ah[g]);
        }
        const float *s_ih = fp, *s_hh = fp + width, *b = fp + 2 * width;
        const float *r_ih = fp + 3 * width, *r_hh = fp + 4 * width;
        for (long j = 0; j < u; j++) {
            float a[4];
            for (int g = 0; g < 4; g++) {
                long q = g * UNITS + j;
                a[g] = s_ih[q] * sx * ((float)ix[q] - 128.0f * r_ih[q])
                     + s_hh[q] * sh * ((float)ih[q] - 128.0f * r_hh[q]) + b[q];
            }
            float c = sigmoid_f(a[1]) * c_prev[o + j] + sigmoid_f(a[0]) * tanh_f32(a[2]);
            c_new[o + j] = c;
            h_new[o + j] = sigmoid_f(a[3]) * tanh_f32(c);
        }
    }
}
#else
#define level_vnni level /* never run: rnnkit_int8_lm_step refuses vnni where it is not built */
#endif

typedef void (*level_fn)(long, long, long, long, const int8_t *, const float *, const float *,
                         const float *, const float *, float *, float *);

/* The stack, then (rows > 0) the output layer, in one team of `threads` threads: each level's
 * panels and the output rows split statically, a barrier after each level (level k reads the
 * whole new h of level k - 1; level 0 reads x). */
static void lm_step(level_fn run, long levels, const long *sz, const int8_t *const *w,
                    const float *const *f, const float *x, float *const *st, long rows,
                    const int8_t *dq, const float *ds, const float *db, float *logits,
                    int threads) {
    PARALLEL_TEAM
    {
        const long t = THREAD_ID(), team = TEAM_SIZE();
        const float *input = x;
        for (long k = 0; k < levels; k++) {
            const long in = sz[2 * k], hs = sz[2 * k + 1], panels = (hs + UNITS - 1) / UNITS;
            run(panels * t / team, panels * (t + 1) / team, in, hs, w[k], f[k], input, st[k],
                st[levels + k], st[2 * levels + k], st[3 * levels + k]);
            BARRIER();
            input = st[2 * levels + k];
        }
        if (rows > 0 && levels > 0)
            gemv_rows(rows * t / team, rows * (t + 1) / team, sz[2 * levels - 1], dq, ds, db,
                      input, logits);
    }
}

/* One step of a stack of `levels` LSTM levels for one row and, with rows > 0, the output layer
 * after it: logits (rows) = dec_scale * (dec_w h) + dec_bias from the top level's new h
 * (dec_w (rows, H) int8 row-major; dec_bias may be NULL). sizes: 2 longs per level (I_k, H_k);
 * w, scale: arrays of per-level pointers to the panels and their floats, in the portable layout
 * (vnni 0) or the VNNI one (vnni 1; a no-op where int8_step_has_vnni() is 0); x: I_0 floats;
 * states: 4 levels pointers to H_k floats: each level's h_prev, then c_prev, h_new, c_new. */
void rnnkit_int8_lm_step(int vnni, long levels, const void *sizes, const void *w,
                         const void *scale, const void *x, const void *states, long rows,
                         const void *dec_w, const void *dec_scale, const void *dec_bias,
                         void *logits, int threads) {
    if (vnni && !int8_step_has_vnni()) return;
    lm_step(vnni ? level_vnni : level, levels, sizes, w, scale, x, (float *const *)states, rows,
            dec_w, dec_scale, dec_bias, logits, threads);
}
