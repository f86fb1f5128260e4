/* One no-grad step of a plain LSTM layer for a few rows (generation: batch 1 to 8), product and
 * pointwise part in one call, for rnnkit.backends.step on CPU.
 *
 * With v = [x_t | h_{t-1}] (N rows of I + H) and the layer's packed weight P = [W_ih | W_hh]
 * (4H rows, gates i, f, g, o) and bias b = b_ih + b_hh:
 *   a = v P^T + b,  i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o),
 *   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t).
 * A step reads every weight once, so its cost is the time to stream P (7 MB for I = H = 512)
 * from cache or memory; everything else is kept in registers or L1.
 *
 * Layout (made once by lstm_token_step.py): hidden units are cut into panels of UNITS units
 * (the last may be shorter, u units). Panel p holds the columns of P^T for its units as a
 * contiguous (I + H, 4u) block, gate-major inside a row: column q u + j is gate q of unit
 * p UNITS + j. So one panel yields all four gates of its units and finishes them at once: its
 * 4u accumulators stay in registers over the I + H rows, and no thread waits for another inside
 * a layer. Panels are split statically over `threads` (parallel.h); rows share each panel while
 * it is in L1/L2. The bias is stored the same way, 4u values per panel.
 *
 * x rows have stride s_x; h_{t-1}, c_{t-1}, h_t, c_t are contiguous (N, H).
 */
#include <math.h>
#include <stddef.h>

#include "parallel.h"

#define UNITS 16

#define DEFINE_KERNELS(T, EXP, TANH, SUFFIX)                                                    \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
                                                                                                \
/* a (4u) += r (k) times rows of w (k, 4u) */                                                   \
static inline __attribute__((always_inline)) void                                               \
accumulate_##SUFFIX(long u, long k, const T *restrict r, const T *restrict w, T *restrict a) {  \
    for (long m = 0; m < k; m++) {                                                              \
        T v = r[m];                                                                             \
        const T *restrict row = w + m * 4 * u;                                                  \
        for (long q = 0; q < 4 * u; q++) a[q] += v * row[q];                                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* units [j0, j0 + u) of every row, from their panel w (I + H, 4u) and bias b (4u) */          \
static inline __attribute__((always_inline)) void                                               \
panel_##SUFFIX(long N, long I, long H, long u, long j0, const T *restrict w,                     \
               const T *restrict b, const T *restrict x, long s_x, const T *restrict hprev,     \
               const T *restrict cprev, T *restrict h, T *restrict c) {                         \
    T a[4 * UNITS];                                                                             \
    for (long n = 0; n < N; n++) {                                                              \
        for (long q = 0; q < 4 * u; q++) a[q] = b[q];                                           \
        accumulate_##SUFFIX(u, I, x + n * s_x, w, a);                                           \
        accumulate_##SUFFIX(u, H, hprev + n * H, w + I * 4 * u, a);                             \
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
static void step_##SUFFIX(long N, long I, long H, const T *w, const T *b, const T *x, long s_x, \
                          const T *hprev, const T *cprev, T *h, T *c, int threads) {            \
    long panels = (H + UNITS - 1) / UNITS;                                                      \
    _Pragma("omp parallel for schedule(static) num_threads(threads) if(threads > 1)")           \
    for (long p = 0; p < panels; p++) {                                                         \
        long j0 = p * UNITS, u = H - j0 < UNITS ? H - j0 : UNITS;                               \
        const T *wp = w + j0 * 4 * (I + H), *bp = b + 4 * j0;                                   \
        if (u == UNITS) /* the common case, with a trip count the compiler knows */             \
            panel_##SUFFIX(N, I, H, UNITS, j0, wp, bp, x, s_x, hprev, cprev, h, c);             \
        else                                                                                    \
            panel_##SUFFIX(N, I, H, u, j0, wp, bp, x, s_x, hprev, cprev, h, c);                 \
    }                                                                                           \
}

DEFINE_KERNELS(float, expf, tanhf, f32)
DEFINE_KERNELS(double, exp, tanh, f64)

void rnnkit_lstm_token_step(int dbl, long N, long I, long H, const void *w, const void *b,
                            const void *x, long s_x, const void *hprev, const void *cprev,
                            void *h, void *c, int threads) {
    if (dbl) step_f64(N, I, H, w, b, x, s_x, hprev, cprev, h, c, threads);
    else step_f32(N, I, H, w, b, x, s_x, hprev, cprev, h, c, threads);
}
