/* Element-wise parts of one GRU step (reset_after=True, PyTorch's form), for
 * rnnkit.backends.gru_sequence on CPU: the matrix products stay in PyTorch, everything between
 * two of them is one call here instead of about fifteen tensor ops.
 *
 * Forward, with gi = W_ih x_t + b_ih (the r, z, n blocks) and gh = W_hh h_{t-1} + b_hh:
 *   r = s(gi_r + gh_r),  z = s(gi_z + gh_z),  n = tanh(gi_n + r gh_n),
 *   h_t = n + z (h_{t-1} - n), or h_{t-1} where the mask is 0 (a padded step).
 * It stores r, z, n and gh_n for the backward.
 *
 * Backward, with g = dh_t (from step t + 1) + dout_t and keep = mask (or 1):
 *   d = g keep,  dn = d (1 - z) (1 - n^2),  dz = d (h_{t-1} - n) z (1 - z),
 *   dr = dn gh_n r (1 - r),
 *   dgi = [dr | dz | dn],  dgh = [dr | dz | dn r],  base = d z + g (1 - keep),
 * so that dh_{t-1} = base + dgh W_hh (one addmm by the caller).
 *
 * Rows are batch entries; every row pointer has its own row stride (in elements), so slices of
 * batch-first (N, L, .) tensors are used in place. dout may also have a column stride (an
 * expanded gradient). Rows are split over `threads` (parallel.h); a thread gathers a strided
 * gradient row into its own slice of gbuf.
 */
#include <math.h>
#include <stddef.h>

#include "fastmath.h"
#include "parallel.h"

/* kept out of line: inlined into the row loop, gcc 12 may no longer vectorise the gate math */
#define ROW __attribute__((noinline))

#define DEFINE_KERNELS(T, EXP, TANH, SUFFIX)                                                    \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
                                                                                                \
ROW static void fwd_row_##SUFFIX(long H, const T *restrict gi, const T *restrict gh,            \
                             const T *restrict prev, int keep, T *restrict h,                   \
                             T *restrict rz, T *restrict cand, T *restrict aux) {               \
    for (long j = 0; j < H; j++) {                                                              \
        T r = sig_##SUFFIX(gi[j] + gh[j]), z = sig_##SUFFIX(gi[H + j] + gh[H + j]);             \
        T n = TANH(gi[2 * H + j] + r * gh[2 * H + j]);                                          \
        T nw = n + z * (prev[j] - n);                                                           \
        h[j] = keep ? nw : prev[j];                                                             \
        rz[j] = r; rz[H + j] = z; cand[j] = n; aux[j] = gh[2 * H + j];                          \
    }                                                                                           \
}                                                                                               \
                                                                                                \
ROW static void bwd_row_##SUFFIX(long H, const T *restrict dh, const T *restrict dout, T keep,  \
                             const T *restrict rz, const T *restrict cand,                      \
                             const T *restrict prev, const T *restrict aux, T *restrict dgi,    \
                             T *restrict dgh, T *restrict base) {                               \
    for (long j = 0; j < H; j++) {                                                              \
        T g = dh[j] + dout[j], d = g * keep;                                                    \
        T r = rz[j], z = rz[H + j], n = cand[j];                                                \
        T dn = d * ((T)1 - z) * ((T)1 - n * n);                                                 \
        T dz = d * (prev[j] - n) * z * ((T)1 - z);                                              \
        T dr = dn * aux[j] * r * ((T)1 - r);                                                    \
        dgi[j] = dr; dgi[H + j] = dz; dgi[2 * H + j] = dn;                                      \
        dgh[j] = dr; dgh[H + j] = dz; dgh[2 * H + j] = dn * r;                                  \
        base[j] = d * z + g * ((T)1 - keep);                                                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void forward_##SUFFIX(long N, long H, const T *gi, long s_gi, const T *gh,               \
                             const T *prev, long s_prev, const unsigned char *mask, long s_mask, \
                             T *h, long s_h, T *rz, long s_rz, T *cand, long s_cand, T *aux,    \
                             long s_aux, int threads) {                                         \
    PARALLEL_ROWS                                                                               \
    for (long i = 0; i < N; i++)                                                                \
        fwd_row_##SUFFIX(H, gi + i * s_gi, gh + i * 3 * H, prev + i * s_prev,                   \
                         mask == NULL || mask[i * s_mask], h + i * s_h, rz + i * s_rz,          \
                         cand + i * s_cand, aux + i * s_aux);                                   \
}                                                                                               \
                                                                                                \
static void backward_##SUFFIX(long N, long H, const T *dh, const T *dout, long s_dout,          \
                              long c_dout, const unsigned char *mask, long s_mask,              \
                              const T *rz, long s_rz, const T *cand, long s_cand,               \
                              const T *prev, long s_prev, const T *aux, long s_aux, T *dgi,     \
                              long s_dgi, T *dgh, long s_dgh, T *base, T *gbuf, int threads) {  \
    PARALLEL_ROWS                                                                               \
    for (long i = 0; i < N; i++) {                                                              \
        const T *g = dout + i * s_dout;                                                         \
        if (c_dout != 1) { /* strided or expanded gradient: gather the row first */             \
            T *buf = gbuf + THREAD_ID() * H;                                                    \
            for (long j = 0; j < H; j++) buf[j] = g[j * c_dout];                                \
            g = buf;                                                                            \
        }                                                                                       \
        T keep = (mask == NULL || mask[i * s_mask]) ? (T)1 : (T)0;                              \
        bwd_row_##SUFFIX(H, dh + i * H, g, keep, rz + i * s_rz, cand + i * s_cand,              \
                         prev + i * s_prev, aux + i * s_aux, dgi + i * s_dgi, dgh + i * s_dgh,  \
                         base + i * H);                                                         \
    }                                                                                           \
}

DEFINE_KERNELS(float, exp_f32, tanh_f32, f32)
DEFINE_KERNELS(double, exp_f64, tanh_f64, f64)

void rnnkit_gru_step_forward(int dbl, long N, long H, const void *gi, long s_gi, const void *gh,
                             const void *prev, long s_prev, const void *mask, long s_mask,
                             void *h, long s_h, void *rz, long s_rz, void *cand, long s_cand,
                             void *aux, long s_aux, int threads) {
    if (dbl)
        forward_f64(N, H, gi, s_gi, gh, prev, s_prev, mask, s_mask, h, s_h, rz, s_rz, cand,
                    s_cand, aux, s_aux, threads);
    else
        forward_f32(N, H, gi, s_gi, gh, prev, s_prev, mask, s_mask, h, s_h, rz, s_rz, cand,
                    s_cand, aux, s_aux, threads);
}

void rnnkit_gru_step_backward(int dbl, long N, long H, const void *dh, const void *dout,
                              long s_dout, long c_dout, const void *mask, long s_mask,
                              const void *rz, long s_rz, const void *cand, long s_cand,
                              const void *prev, long s_prev, const void *aux, long s_aux,
                              void *dgi, long s_dgi, void *dgh, long s_dgh, void *base,
                              void *gbuf, int threads) {
    if (dbl)
        backward_f64(N, H, dh, dout, s_dout, c_dout, mask, s_mask, rz, s_rz, cand, s_cand, prev,
                     s_prev, aux, s_aux, dgi, s_dgi, dgh, s_dgh, base, gbuf, threads);
    else
        backward_f32(N, H, dh, dout, s_dout, c_dout, mask, s_mask, rz, s_rz, cand, s_cand, prev,
                     s_prev, aux, s_aux, dgi, s_dgi, dgh, s_dgh, base, gbuf, threads);
}
