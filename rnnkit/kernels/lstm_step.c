/* Element-wise parts of one LSTM step with optional peepholes, for
 * rnnkit.backends.lstm_sequence on CPU: the matrix products stay in PyTorch (oneDNN), the rest
 * of a step is one call here.
 *
 * Forward, with a = gi + gh (gi = W_ih x_t + b_ih, gh = W_hh h_{t-1} + b_hh; blocks i, f, g, o)
 * and peephole vectors p_i, p_f, p_o (zero without peepholes):
 *   i = s(a_i + p_i c_{t-1}),  f = s(a_f + p_f c_{t-1}),  g = tanh(a_g),
 *   c_t = f c_{t-1} + i g,  o = s(a_o + p_o c_t),  h_t = o tanh(c_t);
 * a padded step (mask 0) keeps h and c. It stores [i | f | g | o], c_t and h_t.
 *
 * Backward, with gh = dh_t (through the product of step t + 1) + dout_t, gc = dc_t (from step
 * t + 1) and keep = mask (or 1):
 *   dh = gh keep,  T = tanh(c_t),  da_o = dh T o (1 - o),
 *   dc = gc keep + dh o (1 - T^2) + da_o p_o,
 *   da_i = dc g i (1 - i),  da_f = dc c_{t-1} f (1 - f),  da_g = dc i (1 - g^2),
 *   dc_{t-1} = dc f + da_i p_i + da_f p_f + gc (1 - keep),
 *   base = gh (1 - keep)      (dh_{t-1} = base + da W_hh, one product by the caller),
 * and adds da_i c_{t-1}, da_f c_{t-1}, da_o c_t (the peepholes' gradient) and da (the bias's)
 * of every row to one vector of sums [p_i, p_f, p_o (3H) | b (4H)] (small: it stays in cache).
 *
 * Rows are batch entries; row pointers have their own row strides (in elements), so slices of
 * batch-first (N, L, .) tensors are used in place; dout may have a column stride. Rows are split
 * over `threads` (parallel.h); in the backward each thread adds its rows to its own slice of
 * sums (7H each, reduced by the caller) and gathers strided rows into its own slice of gbuf.
 *
 * rnnkit_lstm_cell_forward is the plain LSTM's pointwise part for generation (no peepholes, no
 * mask, nothing stored): from a = the whole pre-activation (both products and biases, N x 4H),
 * c_t = s(a_f) c_{t-1} + s(a_i) tanh(a_g),  h_t = s(a_o) tanh(c_t).
 */
#include <math.h>
#include <stddef.h>

#include "fastmath.h"
#include "parallel.h"

/* kept out of line: inlined into the row loop, gcc 12 no longer vectorises the gate math */
#define ROW __attribute__((noinline))

#define DEFINE_KERNELS(T, EXP, TANH, SUFFIX)                                                    \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
                                                                                                \
ROW static void fwd_row_##SUFFIX(long H, const T *restrict gi, const T *restrict gh,            \
                             const T *restrict pi, const T *restrict pf, const T *restrict po,  \
                             const T *restrict hprev, const T *restrict cprev, int keep,        \
                             T *restrict gates, T *restrict c, T *restrict h) {                 \
    for (long j = 0; j < H; j++) {                                                              \
        T cp = cprev[j];                                                                        \
        T i = sig_##SUFFIX(gi[j] + gh[j] + pi[j] * cp);                                         \
        T f = sig_##SUFFIX(gi[H + j] + gh[H + j] + pf[j] * cp);                                 \
        T g = TANH(gi[2 * H + j] + gh[2 * H + j]);                                              \
        T cn = f * cp + i * g;                                                                  \
        T o = sig_##SUFFIX(gi[3 * H + j] + gh[3 * H + j] + po[j] * cn);                         \
        T hn = o * TANH(cn);                                                                    \
        gates[j] = i; gates[H + j] = f; gates[2 * H + j] = g; gates[3 * H + j] = o;             \
        c[j] = keep ? cn : cp;                                                                  \
        h[j] = keep ? hn : hprev[j];                                                            \
    }                                                                                           \
}                                                                                               \
                                                                                                \
ROW static void bwd_row_##SUFFIX(long H, const T *restrict dhc, const T *restrict dout,         \
                             T *restrict dcc, T keep, const T *restrict gates,                  \
                             const T *restrict c, const T *restrict cprev,                      \
                             const T *restrict pi, const T *restrict pf, const T *restrict po,  \
                             T *restrict da, T *restrict base, T *restrict sums) {              \
    for (long j = 0; j < H; j++) {                                                              \
        T gh = dhc[j] + dout[j], gc = dcc[j], dh = gh * keep;                                   \
        T i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];           \
        T ct = c[j], cp = cprev[j], tc = TANH(ct);                                              \
        T dao = dh * tc * o * ((T)1 - o);                                                       \
        T dc = gc * keep + dh * o * ((T)1 - tc * tc) + dao * po[j];                             \
        T dai = dc * g * i * ((T)1 - i), daf = dc * cp * f * ((T)1 - f);                        \
        T dag = dc * i * ((T)1 - g * g);                                                        \
        da[j] = dai; da[H + j] = daf; da[2 * H + j] = dag; da[3 * H + j] = dao;                 \
        dcc[j] = dc * f + dai * pi[j] + daf * pf[j] + gc * ((T)1 - keep);                       \
        base[j] = gh * ((T)1 - keep);                                                           \
        sums[j] += dai * cp; sums[H + j] += daf * cp; sums[2 * H + j] += dao * ct;              \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* sums += da over n values (a separate loop: inside bwd_row it stops gcc vectorising) */     \
ROW static void add_row_##SUFFIX(long n, const T *restrict da, T *restrict sums) {              \
    for (long j = 0; j < n; j++) sums[j] += da[j];                                              \
}                                                                                               \
                                                                                                \
ROW static void cell_row_##SUFFIX(long H, const T *restrict a, const T *restrict cprev,          \
                                  T *restrict c, T *restrict h) {                               \
    for (long j = 0; j < H; j++) {                                                              \
        T i = sig_##SUFFIX(a[j]), f = sig_##SUFFIX(a[H + j]), g = TANH(a[2 * H + j]);           \
        T o = sig_##SUFFIX(a[3 * H + j]), cn = f * cprev[j] + i * g;                            \
        c[j] = cn;                                                                              \
        h[j] = o * TANH(cn);                                                                    \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void cell_##SUFFIX(long N, long H, const T *a, const T *cprev, T *c, T *h) {             \
    for (long n = 0; n < N; n++)                                                                \
        cell_row_##SUFFIX(H, a + n * 4 * H, cprev + n * H, c + n * H, h + n * H);               \
}                                                                                               \
                                                                                                \
static void forward_##SUFFIX(long N, long H, const T *gi, long s_gi, const T *gh,               \
                             const T *pi, const T *pf, const T *po, const T *hprev,             \
                             long s_hprev, const T *cprev, long s_cprev,                        \
                             const unsigned char *mask, long s_mask, T *gates, long s_gates,    \
                             T *c, long s_c, T *h, long s_h, int threads) {                     \
    PARALLEL_ROWS                                                                               \
    for (long n = 0; n < N; n++)                                                                \
        fwd_row_##SUFFIX(H, gi + n * s_gi, gh + n * 4 * H, pi, pf, po, hprev + n * s_hprev,     \
                         cprev + n * s_cprev, mask == NULL || mask[n * s_mask],                 \
                         gates + n * s_gates, c + n * s_c, h + n * s_h);                        \
}                                                                                               \
                                                                                                \
static void backward_##SUFFIX(long N, long H, const T *dhc, const T *dout, long s_dout,         \
                              long c_dout, T *dcc, const unsigned char *mask, long s_mask,      \
                              const T *gates, long s_gates, const T *c, long s_c,               \
                              const T *cprev, long s_cprev, const T *pi, const T *pf,           \
                              const T *po, T *da, long s_da, T *base, T *sums, T *gbuf,         \
                              int threads) {                                                    \
    PARALLEL_ROWS                                                                               \
    for (long n = 0; n < N; n++) {                                                              \
        const T *g = dout + n * s_dout;                                                         \
        T *s = sums + THREAD_ID() * 7 * H;                                                      \
        if (c_dout != 1) { /* strided or expanded gradient: gather the row first */             \
            T *buf = gbuf + THREAD_ID() * H;                                                    \
            for (long j = 0; j < H; j++) buf[j] = g[j * c_dout];                                \
            g = buf;                                                                            \
        }                                                                                       \
        T keep = (mask == NULL || mask[n * s_mask]) ? (T)1 : (T)0;                              \
        bwd_row_##SUFFIX(H, dhc + n * H, g, dcc + n * H, keep, gates + n * s_gates,             \
                         c + n * s_c, cprev + n * s_cprev, pi, pf, po, da + n * s_da,           \
                         base + n * H, s);                                                      \
        add_row_##SUFFIX(4 * H, da + n * s_da, s + 3 * H);                                      \
    }                                                                                           \
}

DEFINE_KERNELS(float, exp_f32, tanh_f32, f32)
DEFINE_KERNELS(double, exp_f64, tanh_f64, f64)

void rnnkit_lstm_step_forward(int dbl, long N, long H, const void *gi, long s_gi,
                              const void *gh, const void *pi, const void *pf, const void *po,
                              const void *hprev, long s_hprev, const void *cprev, long s_cprev,
                              const void *mask, long s_mask, void *gates, long s_gates, void *c,
                              long s_c, void *h, long s_h, int threads) {
    if (dbl)
        forward_f64(N, H, gi, s_gi, gh, pi, pf, po, hprev, s_hprev, cprev, s_cprev, mask, s_mask,
                    gates, s_gates, c, s_c, h, s_h, threads);
    else
        forward_f32(N, H, gi, s_gi, gh, pi, pf, po, hprev, s_hprev, cprev, s_cprev, mask, s_mask,
                    gates, s_gates, c, s_c, h, s_h, threads);
}

void rnnkit_lstm_step_backward(int dbl, long N, long H, const void *dhc, const void *dout,
                               long s_dout, long c_dout, void *dcc, const void *mask,
                               long s_mask, const void *gates, long s_gates, const void *c,
                               long s_c, const void *cprev, long s_cprev, const void *pi,
                               const void *pf, const void *po, void *da, long s_da, void *base,
                               void *sums, void *gbuf, int threads) {
    if (dbl)
        backward_f64(N, H, dhc, dout, s_dout, c_dout, dcc, mask, s_mask, gates, s_gates, c, s_c,
                     cprev, s_cprev, pi, pf, po, da, s_da, base, sums, gbuf, threads);
    else
        backward_f32(N, H, dhc, dout, s_dout, c_dout, dcc, mask, s_mask, gates, s_gates, c, s_c,
                     cprev, s_cprev, pi, pf, po, da, s_da, base, sums, gbuf, threads);
}

/* a (N, 4H), cprev, c, h (N, H), all contiguous */
void rnnkit_lstm_cell_forward(int dbl, long N, long H, const void *a, const void *cprev, void *c,
                              void *h) {
    if (dbl) cell_f64(N, H, a, cprev, c, h);
    else cell_f32(N, H, a, cprev, c, h);
}
