/* Element-wise parts of one layer-normalised LSTM step (optionally with peepholes), for
 * rnnkit.backends.lstm_sequence on CPU. The products p = W_ih x (all steps at once) and
 * q = h_{t-1} W_hh^T (per step) stay in PyTorch; both layer norms of the gates are done here.
 *
 * Forward, LN over each row (mean, reciprocal standard deviation r, eps = 1e-5, PyTorch's
 * layer_norm default):
 *   ph = (p - mean p) r_p,  qh = (q - mean q) r_q,
 *   a = ph gamma_ih + qh gamma_hh + bias      (bias = beta_ih + b_ih + beta_hh + b_hh),
 *   i = s(a_i + p_i c_{t-1}),  f = s(a_f + p_f c_{t-1}),  g = tanh(a_g),
 *   c_t = f c_{t-1} + i g,  o = s(a_o + p_o c_t),
 *   ch = (c_t - mean c_t) r_c,  h_t = o tanh(ch gamma_c + beta_c);
 * a padded step (mask 0) keeps h and c. Stored per step: c_t, qh, ch and per row the four
 * statistics [r_q, r_c, mean p, r_p]. Neither ph nor the gates are stored: the backward
 * recomputes them from p, the statistics, qh and c_{t-1} (one more pass over a row, against
 * writing and page-faulting in 8H values per row and step).
 *
 * Backward (gh = dh_t + dout_t, gc = dc_t from step t + 1, keep = mask or 1):
 *   dh = gh keep,  T = tanh(ch gamma_c + beta_c),  da_o = dh T o (1 - o),
 *   dy = dh o (1 - T^2) gamma_c,  dc = gc keep + r_c (dy - mean dy - ch mean(dy ch)) + da_o p_o,
 *   da_i = dc g i (1 - i),  da_f = dc c_{t-1} f (1 - f),  da_g = dc i (1 - g^2),
 *   dc_{t-1} = dc f + da_i p_i + da_f p_f + gc (1 - keep),
 *   dz = da gamma_hh,  dq = r_q (dz - mean dz - qh mean(dz qh)),
 *   dw = da gamma_ih,  dp = r_p (dw - mean dw - ph mean(dw ph)),  base = gh (1 - keep)
 *   (dh_{t-1} = base + dq W_hh, one product by the caller; dp is the gradient of p), and,
 *   summed over the rows, the sums for the peepholes (da_i c_{t-1}, da_f c_{t-1}, da_o c_t),
 *   gamma_hh (da qh), gamma_c (dh o (1 - T^2) ch), beta_c (dh o (1 - T^2)), bias (da) and
 *   gamma_ih (da ph).
 *
 * Rows are batch entries; row pointers have their own row strides (in elements); dout may have a
 * column stride. Rows are split over `threads` (parallel.h); each thread sums its own rows into
 * its own slice of `sums`, reduced by the caller, and has its own slice of scratch.
 */
#include <math.h>
#include <stddef.h>

#include "fastmath.h"
#include "parallel.h"

#define EPS 1e-5
/* kept out of line: inlined into the row loop, gcc 12 may no longer vectorise the gate math */
#define ROW __attribute__((noinline))

#define DEFINE_KERNELS(T, EXP, TANH, SQRT, SUFFIX)                                              \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
                                                                                                \
/* x -> (x - mean) * rstd over n values, into y; returns rstd, and the mean in *mean_out */      \
static T normalise_##SUFFIX(long n, const T *restrict x, T *restrict y, T *restrict mean_out) { \
    T mean = 0, var = 0;                                                                        \
    for (long j = 0; j < n; j++) mean += x[j];                                                  \
    mean /= (T)n;                                                                               \
    for (long j = 0; j < n; j++) { T d = x[j] - mean; var += d * d; }                           \
    T rstd = (T)1 / SQRT(var / (T)n + (T)EPS);                                                  \
    for (long j = 0; j < n; j++) y[j] = (x[j] - mean) * rstd;                                   \
    *mean_out = mean;                                                                           \
    return rstd;                                                                                \
}                                                                                               \
                                                                                                \
/* gradient through y = (x - mean) * rstd: dx = rstd (dy - mean dy - y mean(dy y)) */            \
static void denormalise_##SUFFIX(long n, T rstd, const T *restrict y, const T *restrict dy,     \
                                 T *restrict dx) {                                              \
    T m1 = 0, m2 = 0;                                                                           \
    for (long j = 0; j < n; j++) { m1 += dy[j]; m2 += dy[j] * y[j]; }                           \
    m1 /= (T)n; m2 /= (T)n;                                                                     \
    for (long j = 0; j < n; j++) dx[j] = rstd * (dy[j] - m1 - y[j] * m2);                       \
}                                                                                               \
                                                                                                \
ROW static void gates_##SUFFIX(long H, const T *restrict ph, const T *restrict gih,             \
                               const T *restrict qh, const T *restrict ghh,                     \
                               const T *restrict bias, const T *restrict pi,                    \
                               const T *restrict pf, const T *restrict po,                      \
                               const T *restrict cprev, T *restrict gates, T *restrict c) {     \
    for (long j = 0; j < H; j++) {                                                              \
        T a[4];                                                                                 \
        for (int k = 0; k < 4; k++) {                                                           \
            long m = k * H + j;                                                                 \
            a[k] = ph[m] * gih[m] + qh[m] * ghh[m] + bias[m];                                   \
        }                                                                                       \
        T cp = cprev[j];                                                                        \
        T i = sig_##SUFFIX(a[0] + pi[j] * cp), f = sig_##SUFFIX(a[1] + pf[j] * cp);             \
        T g = TANH(a[2]), cn = f * cp + i * g;                                                  \
        T o = sig_##SUFFIX(a[3] + po[j] * cn);                                                  \
        gates[j] = i; gates[H + j] = f; gates[2 * H + j] = g; gates[3 * H + j] = o;             \
        c[j] = cn;                                                                              \
    }                                                                                           \
}                                                                                               \
                                                                                                \
ROW static void output_##SUFFIX(long H, const T *restrict ch, const T *restrict gc,             \
                                const T *restrict bc, const T *restrict gates,                  \
                                T *restrict h) {                                                \
    for (long j = 0; j < H; j++) h[j] = gates[3 * H + j] * TANH(ch[j] * gc[j] + bc[j]);         \
}                                                                                               \
                                                                                                \
static void forward_##SUFFIX(long N, long H, const T *p, long s_p, const T *q, const T *gih,    \
                             const T *ghh, const T *bias, const T *gcc, const T *bcc,           \
                             const T *pi, const T *pf, const T *po, const T *hprev,             \
                             long s_hprev, const T *cprev, long s_cprev,                        \
                             const unsigned char *mask, long s_mask, T *scratch, T *c, T *qh,   \
                             T *ch, T *stats, T *h, long s_h, long s_c, int threads) {          \
    /* qh (N, 4H), ch (N, H) and stats (N, 4) of this step are contiguous; c and h rows have    \
     * strides s_c, s_h; scratch: 8H per thread (the row's gates and ph) */                     \
    PARALLEL_ROWS                                                                               \
    for (long n = 0; n < N; n++) {                                                              \
        T *cn = c + n * s_c, *hn = h + n * s_h, *gn = scratch + THREAD_ID() * 8 * H;            \
        T *ph = gn + 4 * H, *st = stats + 4 * n, unused;                                        \
        const T *cp = cprev + n * s_cprev, *hp = hprev + n * s_hprev;                           \
        st[3] = normalise_##SUFFIX(4 * H, p + n * s_p, ph, st + 2);                             \
        st[0] = normalise_##SUFFIX(4 * H, q + n * 4 * H, qh + n * 4 * H, &unused);              \
        gates_##SUFFIX(H, ph, gih, qh + n * 4 * H, ghh, bias, pi, pf, po, cp, gn, cn);          \
        st[1] = normalise_##SUFFIX(H, cn, ch + n * H, &unused);                                 \
        output_##SUFFIX(H, ch + n * H, gcc, bcc, gn, hn);                                       \
        if (mask != NULL && !mask[n * s_mask])                                                  \
            for (long j = 0; j < H; j++) { cn[j] = cp[j]; hn[j] = hp[j]; }                      \
    }                                                                                           \
}                                                                                               \
                                                                                                \
ROW static void cell_grad_##SUFFIX(long H, const T *restrict dh, const T *restrict ch,          \
                                   const T *restrict gcc, const T *restrict bcc,                \
                                   const T *restrict gates, T *restrict dao, T *restrict dy,    \
                                   T *restrict sgc, T *restrict sbc) {                          \
    for (long j = 0; j < H; j++) {                                                              \
        T o = gates[3 * H + j], t = TANH(ch[j] * gcc[j] + bcc[j]);                              \
        T d = dh[j] * o * ((T)1 - t * t);                                                       \
        dao[j] = dh[j] * t * o * ((T)1 - o);                                                    \
        dy[j] = d * gcc[j];                                                                     \
        sgc[j] += d * ch[j]; sbc[j] += d;                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
ROW static void gate_grad_##SUFFIX(long H, T keep, const T *restrict gc, const T *restrict dcn, \
                                   const T *restrict dao, const T *restrict gates,              \
                                   const T *restrict c, const T *restrict cp,                   \
                                   const T *restrict pi, const T *restrict pf,                  \
                                   const T *restrict po, T *restrict da, T *restrict dcc,       \
                                   T *restrict sp) {                                            \
    for (long j = 0; j < H; j++) {                                                              \
        T i = gates[j], f = gates[H + j], g = gates[2 * H + j];                                 \
        T dc = gc[j] * keep + dcn[j] + dao[j] * po[j];                                          \
        T dai = dc * g * i * ((T)1 - i), daf = dc * cp[j] * f * ((T)1 - f);                     \
        da[j] = dai; da[H + j] = daf; da[2 * H + j] = dc * i * ((T)1 - g * g);                  \
        da[3 * H + j] = dao[j];                                                                 \
        dcc[j] = dc * f + dai * pi[j] + daf * pf[j] + gc[j] * ((T)1 - keep);                    \
        sp[j] += dai * cp[j]; sp[H + j] += daf * cp[j]; sp[2 * H + j] += dao[j] * c[j];         \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* dz = da gamma_hh, dw = da gamma_ih, and the sums for gamma_hh (da qh), the bias (da) and     \
 * gamma_ih (da ph), over n = 4H values */                                                      \
ROW static void norm_grad_##SUFFIX(long n, const T *restrict da, const T *restrict ghh,         \
                                   const T *restrict qh, const T *restrict gih,                 \
                                   const T *restrict ph, T *restrict dz, T *restrict dw,        \
                                   T *restrict sghh, T *restrict sb, T *restrict sgih) {        \
    for (long j = 0; j < n; j++) {                                                              \
        dz[j] = da[j] * ghh[j];                                                                 \
        dw[j] = da[j] * gih[j];                                                                 \
        sghh[j] += da[j] * qh[j];                                                               \
        sb[j] += da[j];                                                                         \
        sgih[j] += da[j] * ph[j];                                                               \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void backward_##SUFFIX(long N, long H, const T *dhc, const T *dout, long s_dout,         \
                              long c_dout, T *dcc, const unsigned char *mask, long s_mask,      \
                              const T *p, long s_p, const T *c, long s_c, const T *cprev,       \
                              long s_cprev, const T *qh, const T *ch, const T *stats,           \
                              const T *gih, const T *ghh, const T *bias, const T *gcc,          \
                              const T *bcc, const T *pi, const T *pf, const T *po, T *dp,       \
                              long s_dp, T *dq, T *base, T *sums, T *work, int threads) {       \
    /* sums, one slice of 17H per thread (small enough to stay in cache): [p_i, p_f, p_o (3H) | \
     * gamma_hh (4H) | gamma_c (H) | beta_c (H) | bias (4H) | gamma_ih (4H)]; work: 21H scratch \
     * per thread */                                                                            \
    PARALLEL_ROWS                                                                               \
    for (long n = 0; n < N; n++) {                                                              \
        T *w = work + THREAD_ID() * 21 * H, *s = sums + THREAD_ID() * 17 * H;                   \
        T *dh = w, *dy = w + H, *gc = w + 2 * H, *dcn = w + 3 * H;                              \
        T *dao = w + 4 * H, *dz = dh; /* dz (4H) reuses dh..dcn once they are spent */          \
        T *gn = w + 8 * H, *cn = w + 12 * H; /* the step's gates (and c_t) again */              \
        T *ph = w + 13 * H, *da = w + 17 * H, *dw = gn; /* dw (4H) reuses the spent gates */    \
        const T *st = stats + 4 * n, *pn = p + n * s_p;                                         \
        for (long j = 0; j < 4 * H; j++) ph[j] = (pn[j] - st[2]) * st[3];                       \
        const T *qn = qh + n * 4 * H;                                                           \
        gates_##SUFFIX(H, ph, gih, qn, ghh, bias, pi, pf, po, cprev + n * s_cprev, gn, cn);     \
        T keep = (mask == NULL || mask[n * s_mask]) ? (T)1 : (T)0;                              \
        const T *g = dout + n * s_dout, *hc = dhc + n * H;                                      \
        T *dcr = dcc + n * H;                                                                   \
        for (long j = 0; j < H; j++) {                                                          \
            T gh = hc[j] + g[j * c_dout];                                                       \
            dh[j] = gh * keep; base[n * H + j] = gh * ((T)1 - keep);                            \
        }                                                                                       \
        cell_grad_##SUFFIX(H, dh, ch + n * H, gcc, bcc, gn, dao, dy, s + 7 * H, s + 8 * H);     \
        denormalise_##SUFFIX(H, st[1], ch + n * H, dy, dcn);                                    \
        for (long j = 0; j < H; j++) gc[j] = dcr[j]; /* dcc is overwritten in place */          \
        gate_grad_##SUFFIX(H, keep, gc, dcn, dao, gn, c + n * s_c,                              \
                           cprev + n * s_cprev, pi, pf, po, da, dcr, s);                        \
        norm_grad_##SUFFIX(4 * H, da, ghh, qn, gih, ph, dz, dw, s + 3 * H, s + 9 * H,           \
                           s + 13 * H);                                                         \
        denormalise_##SUFFIX(4 * H, st[0], qn, dz, dq + n * 4 * H);                             \
        denormalise_##SUFFIX(4 * H, st[3], ph, dw, dp + n * s_dp);                              \
    }                                                                                           \
}

DEFINE_KERNELS(float, exp_f32, tanh_f32, sqrtf, f32)
DEFINE_KERNELS(double, exp_f64, tanh_f64, sqrt, f64)

void rnnkit_lnlstm_step_forward(int dbl, long N, long H, const void *p, long s_p, const void *q,
                                const void *gih, const void *ghh, const void *bias,
                                const void *gcc, const void *bcc, const void *pi, const void *pf,
                                const void *po, const void *hprev, long s_hprev,
                                const void *cprev, long s_cprev, const void *mask, long s_mask,
                                void *scratch, void *c, void *qh, void *ch, void *stats, void *h,
                                long s_h, long s_c, int threads) {
    if (dbl)
        forward_f64(N, H, p, s_p, q, gih, ghh, bias, gcc, bcc, pi, pf, po, hprev, s_hprev, cprev,
                    s_cprev, mask, s_mask, scratch, c, qh, ch, stats, h, s_h, s_c, threads);
    else
        forward_f32(N, H, p, s_p, q, gih, ghh, bias, gcc, bcc, pi, pf, po, hprev, s_hprev, cprev,
                    s_cprev, mask, s_mask, scratch, c, qh, ch, stats, h, s_h, s_c, threads);
}

void rnnkit_lnlstm_step_backward(int dbl, long N, long H, const void *dhc, const void *dout,
                                 long s_dout, long c_dout, void *dcc, const void *mask,
                                 long s_mask, const void *p, long s_p, const void *c, long s_c,
                                 const void *cprev, long s_cprev, const void *qh, const void *ch,
                                 const void *stats, const void *gih, const void *ghh,
                                 const void *bias, const void *gcc, const void *bcc,
                                 const void *pi, const void *pf, const void *po, void *dp,
                                 long s_dp, void *dq, void *base, void *sums, void *work,
                                 int threads) {
    if (dbl)
        backward_f64(N, H, dhc, dout, s_dout, c_dout, dcc, mask, s_mask, p, s_p, c, s_c, cprev,
                     s_cprev, qh, ch, stats, gih, ghh, bias, gcc, bcc, pi, pf, po, dp, s_dp, dq,
                     base, sums, work, threads);
    else
        backward_f32(N, H, dhc, dout, s_dout, c_dout, dcc, mask, s_mask, p, s_p, c, s_c, cprev,
                     s_cprev, qh, ch, stats, gih, ghh, bias, gcc, bcc, pi, pf, po, dp, s_dp, dq,
                     base, sums, work, threads);
}
