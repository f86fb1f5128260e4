/* One no-grad step of a plain LSTM or GRU stack for a few rows (generation: batch 1 to 8),
 * products and pointwise parts of every layer in one call, for rnnkit.backends.step on CPU.
 *
 * With x_t (N rows of I), h_{t-1} (N rows of H) and the layer's weights W_ih, W_hh:
 *   LSTM (gates i, f, g, o; b = b_ih + b_hh):
 *     a = x_t W_ih^T + h_{t-1} W_hh^T + b,  i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o),
 *     c_t = f c_{t-1} + i g,  h_t = o tanh(c_t);
 *   GRU (gates r, z, n, PyTorch's reset_after form):
 *     ax = x_t W_ih^T,  ah = h_{t-1} W_hh^T,
 *     r = s(ax_r + ah_r + b_ir + b_hr),  z = s(ax_z + ah_z + b_iz + b_hz),
 *     n = tanh(ax_n + b_in + r (ah_n + b_hn)),  h_t = (1 - z) n + z h_{t-1}.
 * A step reads every weight once, so its cost is the time to stream the weights (7 MB for an
 * LSTM layer with I = H = 512) from cache or memory; everything else stays in registers or L1.
 *
 * Layout (made once by token_step.py): hidden units are cut into panels of UNITS units (the last
 * may be shorter, u units). Panel p holds the rows of [W_ih | W_hh] for its units, transposed,
 * as a contiguous (I + H, G u) block with G = 4 (LSTM) or 3 (GRU) gates, gate-major inside a row:
 * column q u + j is gate q of unit p UNITS + j; rows 0..I-1 multiply x_t, rows I.. h_{t-1}. So
 * one panel yields all gates of its units and finishes them at once: its accumulators stay in
 * registers over the I + H rows, and no thread waits for another inside a layer. Panels are
 * split statically over `threads` (parallel.h); rows share each panel while it is in L1/L2.
 * Biases, 4u values per panel in the same order: LSTM b_i, b_f, b_g, b_o (each b_ih + b_hh);
 * GRU b_ir + b_hr, b_iz + b_hz, b_in, b_hn.
 *
 * A stack of K layers: w and b are arrays of K pointers (each layer's panels and biases); layer
 * 0 reads x_t (rows of I with stride s_x), layer k > 0 the new h of layer k - 1 (I = H);
 * h_{t-1}, h_t (and the LSTM's c_{t-1}, c_t) are contiguous (K, N, H), and out (N, H) receives
 * the last layer's h_t (the layer's output, apart from its state).
 */
#include <math.h>
#include <stddef.h>

#include "fastmath.h"
#include "parallel.h"

#define UNITS 16

#define DEFINE_KERNELS(T, EXP, TANH, SUFFIX)                                                    \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
                                                                                                \
/* a (width) += r (k) times rows of w (k, width) */                                             \
static inline __attribute__((always_inline)) void                                               \
accumulate_##SUFFIX(long width, long k, const T *restrict r, const T *restrict w,               \
                    T *restrict a) {                                                            \
    for (long m = 0; m < k; m++) {                                                              \
        T v = r[m];                                                                             \
        const T *restrict row = w + m * width;                                                  \
        for (long q = 0; q < width; q++) a[q] += v * row[q];                                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* LSTM units [j0, j0 + u) of every row, from their panel w (I + H, 4u) and bias b (4u) */     \
static inline __attribute__((always_inline)) void                                               \
lstm_panel_##SUFFIX(long N, long I, long H, long u, long j0, const T *restrict w,                \
                    const T *restrict b, const T *restrict x, long s_x,                         \
                    const T *restrict hprev, const T *restrict cprev, T *restrict h,            \
                    T *restrict c) {                                                            \
    T a[4 * UNITS];                                                                             \
    for (long n = 0; n < N; n++) {                                                              \
        for (long q = 0; q < 4 * u; q++) a[q] = b[q];                                           \
        accumulate_##SUFFIX(4 * u, I, x + n * s_x, w, a);                                       \
        accumulate_##SUFFIX(4 * u, H, hprev + n * H, w + I * 4 * u, a);                         \
        const T *restrict cp = cprev + n * H + j0;                                              \
        T *restrict hn = h + n * H + j0, *restrict cn = c + n * H + j0;                         \
        for (long j = 0; j < u; j++) {                                                          \
            T ct = sig_##SUFFIX(a[u + j]) * cp[j] + sig_##SUFFIX(a[j]) * TANH(a[2 * u + j]);   \
            cn[j] = ct;                                                                         \
            hn[j] = sig_##SUFFIX(a[3 * u + j]) * TANH(ct);                                      \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* GRU units [j0, j0 + u) of every row, from their panel w (I + H, 3u) and bias b (4u) */     \
static inline __attribute__((always_inline)) void                                               \
gru_panel_##SUFFIX(long N, long I, long H, long u, long j0, const T *restrict w,                 \
                   const T *restrict b, const T *restrict x, long s_x,                          \
                   const T *restrict hprev, T *restrict h) {                                    \
    T ax[3 * UNITS], ah[3 * UNITS];                                                             \
    for (long n = 0; n < N; n++) {                                                              \
        for (long q = 0; q < 3 * u; q++) { ax[q] = 0; ah[q] = 0; }                              \
        accumulate_##SUFFIX(3 * u, I, x + n * s_x, w, ax);                                      \
        accumulate_##SUFFIX(3 * u, H, hprev + n * H, w + I * 3 * u, ah);                        \
        const T *restrict hp = hprev + n * H + j0;                                              \
        T *restrict hn = h + n * H + j0;                                                        \
        for (long j = 0; j < u; j++) {                                                          \
            T r = sig_##SUFFIX(ax[j] + ah[j] + b[j]);                                           \
            T z = sig_##SUFFIX(ax[u + j] + ah[u + j] + b[u + j]);                               \
            T nn = TANH(ax[2 * u + j] + b[2 * u + j] + r * (ah[2 * u + j] + b[3 * u + j]));    \
            hn[j] = nn + z * (hp[j] - nn);                                                      \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* units [j0, j0 + UNITS) of one layer: the common case first, with a trip count the compiler  \
 * knows */                                                                                    \
static void panel_##SUFFIX(int gates, long N, long I, long H, long p, const T *w, const T *b,   \
                           const T *x, long s_x, const T *hprev, const T *cprev, T *h, T *c) {  \
    long j0 = p * UNITS, u = H - j0 < UNITS ? H - j0 : UNITS;                                   \
    const T *wp = w + j0 * gates * (I + H), *bp = b + 4 * j0;                                   \
    if (gates == 4 && u == UNITS)                                                               \
        lstm_panel_##SUFFIX(N, I, H, UNITS, j0, wp, bp, x, s_x, hprev, cprev, h, c);            \
    else if (gates == 4)                                                                        \
        lstm_panel_##SUFFIX(N, I, H, u, j0, wp, bp, x, s_x, hprev, cprev, h, c);                \
    else if (u == UNITS)                                                                        \
        gru_panel_##SUFFIX(N, I, H, UNITS, j0, wp, bp, x, s_x, hprev, h);                       \
    else                                                                                        \
        gru_panel_##SUFFIX(N, I, H, u, j0, wp, bp, x, s_x, hprev, h);                           \
}                                                                                               \
                                                                                                \
/* gates: 4 (LSTM, c and cprev used) or 3 (GRU, c and cprev ignored). Layer k reads x (k = 0)  \
 * or layer k - 1's new h; the threads stay in one team over all layers, a barrier after each \
 * (the end of its `omp for`), and the last layer's h is also copied to out. */                 \
static void stack_##SUFFIX(int gates, long layers, long N, long I, long H, const T *const *w,   \
                           const T *const *b, const T *x, long s_x, const T *hprev,             \
                           const T *cprev, T *h, T *c, T *out, int threads) {                   \
    const long panels = (H + UNITS - 1) / UNITS, size = N * H;                                  \
    _Pragma("omp parallel num_threads(threads) if(threads > 1)")                                \
    for (long k = 0; k < layers; k++) {                                                         \
        const T *in = k == 0 ? x : h + (k - 1) * size;                                          \
        const long width = k == 0 ? I : H, stride = k == 0 ? s_x : H;                           \
        const T *cp = gates == 4 ? cprev + k * size : NULL;                                     \
        T *ck = gates == 4 ? c + k * size : NULL;                                               \
        _Pragma("omp for schedule(static)")                                                     \
        for (long p = 0; p < panels; p++)                                                       \
            panel_##SUFFIX(gates, N, width, H, p, w[k], b[k], in, stride, hprev + k * size,     \
                           cp, h + k * size, ck);                                               \
    }                                                                                           \
    const T *last = h + (layers - 1) * size;                                                    \
    for (long q = 0; q < size; q++) out[q] = last[q];                                           \
}

DEFINE_KERNELS(float, exp_f32, tanh_f32, f32)
DEFINE_KERNELS(double, exp_f64, tanh_f64, f64)

void rnnkit_token_stack(int dbl, int gates, long layers, long N, long I, long H,
                        const void *w, const void *b, const void *x, long s_x, const void *hprev,
                        const void *cprev, void *h, void *c, void *out, int threads) {
    if (dbl)
        stack_f64(gates, layers, N, I, H, w, b, x, s_x, hprev, cprev, h, c, out, threads);
    else
        stack_f32(gates, layers, N, I, H, w, b, x, s_x, hprev, cprev, h, c, out, threads);
}
