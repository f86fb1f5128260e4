/* Fused minGRU / minLSTM recurrences on CPU (rnnkit.kernels.min_scan).
 *
 * The gates of minGRU and minLSTM see only the input, so after one matrix product
 * P = x W^T (N, L, G*H) and the bias beta (G*H) the layer is the linear recurrence
 * h_t = a_t h_{t-1} + b_t, with the gate pre-activations q = P_t + beta and
 *
 *   minGRU  (G = 2, q = [k | p]):      z = s(k),  a = 1 - z,  b = z g(p)
 *   minLSTM (G = 3, q = [f | i | p]):  a = s(f) / (s(f) + s(i)),  b = (1 - a) g(p)
 *           (computed so that it stays finite when both sigmoids underflow: lstm_gates)
 *
 * where s is the logistic sigmoid and g(p) = p + 1/2 for p >= 0, s(p) below. The forward
 * kernel computes a, b and h in one pass over P; the backward kernel walks time backwards with
 *   g_t = dh_t + a_{t+1} g_{t+1},   da_t = g_t h_{t-1},   db_t = g_t
 * and writes dP directly, plus each batch row's sum over time of dP (the bias gradient, summed
 * over rows by the caller). Adding the bias here spares PyTorch a pass that broadcasts it into
 * the product's output. A forward with `save` (training) writes over P what its backward needs
 * so that the backward computes no exponential: for a minGRU z and the signed candidate
 * s = g(p) where p >= 0, -s(p) where p < 0, over k and p (s(p) > 0 even at the clamp, so the
 * sign tells the branch and g'(p) = 1 or |s| (1 - |s|)); for a minLSTM the two signed
 * exponentials of lstm_exps over f and i, and s over p. The backward (`saved`) then writes dP
 * over them, in place, which matters where the scans are bound by their arithmetic.
 * Work is split over (batch row, block of hidden units) pairs across PyTorch's OpenMP threads
 * (parallel.h); blocks are narrow enough that every thread gets one even for a single row, and
 * within a block the loop over hidden units is contiguous and vectorised by the compiler.
 *
 * Layouts (batch-first): P (N, L, G*H), beta (G*H) or NULL, h0 (N, H), out (N, L, H),
 * dP (N, L, G*H; ignored with `saved`, which writes over P), dbeta (N, G*H) or NULL, dh0 (N, H),
 * all contiguous; dout (N, L, H) with any strides (sn, st, sj), so an expanded gradient needs no
 * copy.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "fastmath.h"
#include "parallel.h"

/* Steps ahead whose P rows are prefetched. A step's row of P is G*H values, 4 KiB for minGRU
 * at H 512: each step starts a new page, where the hardware's streaming prefetch stops, so
 * without it the scans would wait on memory once per step. */
#define PF 4
#define BLOCK 1024 /* the widest block of hidden units (the backward's buffers on the stack) */
#define LANES 16   /* blocks are a multiple of this many units wide (one AVX-512 float vector) */

/* The loops that write over P as well as h: inlined into forward_* / backward_*, their pointers
 * lose `restrict`, and checking every pair of them at run time is more than gcc will version a
 * loop for, so it would leave them scalar (one libm call per exponential). They never alias. */
#define IVDEP _Pragma("GCC ivdep")

typedef struct {
    int kind;              /* 2: minGRU, 3: minLSTM */
    int dbl;               /* 1: double, 0: float */
    long n, len, hidden;
    void *p;               /* P; a forward with `save` stores its gates there */
    const void *beta, *h0, *out, *dout;
    long sn, st, sj;       /* strides of dout */
    void *res, *dp, *dbeta, *dh0;
    int saved;             /* the forward stores its gates in P, the backward reads them */
    long width;            /* hidden units per block (the last block may be narrower) */
} job_t;

/* One time step over hidden units [0, w) of one batch row; every pointer is already offset to
 * the block and none alias (restrict), so each loop compiles to SIMD code. q_k, q_i, q_p: the
 * gate projections of this step; b_k, b_i, b_p: the matching biases. */
#define DEFINE_KERNELS(T, EXP, SUFFIX)                                                          \
static inline T sig_##SUFFIX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                           \
static inline T act_##SUFFIX(T x) { return x >= 0 ? x + (T)0.5 : sig_##SUFFIX(x); }             \
static inline T dact_##SUFFIX(T x) {                                                            \
    T s = sig_##SUFFIX(x); return x >= 0 ? (T)1 : s * ((T)1 - s); }                             \
                                                                                                \
/* minLSTM's a = f / (f + i) and 1 - a from kf, ki (f = s(kf), i = s(ki)), scaled by e^-m with  \
 * m = max(0, -kf, -ki): e0 = e^-m, ef = e^(-kf - m), ei = e^(-ki - m), all at most 1 and one   \
 * of them 1, so a = (e0 + ei) / (2 e0 + ef + ei) divides by a number in [1, 4] however far    \
 * the gates saturate (the plain ratio is 0/0 once both sigmoids underflow); also             \
 * 1 - f = ef / (e0 + ef) and 1 - i = ei / (e0 + ei). Two exponentials give all three: with    \
 * hi = max(-kf, -ki) and lo = min(-kf, -ki), x1 = e^-|hi| is e0 where hi >= 0 (then the larger \
 * of ef, ei is 1) and that larger one where hi < 0 (then e0 = 1), and x2 = e^(lo - max(hi, 0)) \
 * is the smaller of ef, ei. lstm_exps computes x1 and x2 and returns them with their signs     \
 * flipped where hi >= 0 (x1) and where -kf >= -ki (x2): both are at least e^-87 (float) or     \
 * e^-708 (double), never 0, so the sign is a flag (a saving forward stores them in P). A NaN   \
 * in kf or ki reaches x1 or x2 (hi and lo are written so that one of them keeps it), so every  \
 * gate. */                                                                                     \
static inline void lstm_exps_##SUFFIX(T kf, T ki, T *x1, T *x2) {                             \
    const T u = -kf, v = -ki, hi = u > v ? u : v, lo = u > v ? v : u;                          \
    const T e1 = EXP(hi >= 0 ? -hi : hi), e2 = EXP(lo - (hi > 0 ? hi : 0));                    \
    *x1 = hi >= 0 ? -e1 : e1; *x2 = u >= v ? -e2 : e2;                                          \
}                                                                                               \
                                                                                                \
/* e0, ef, ei and a, 1 - a from lstm_exps' signed x1, x2 (selects and one division) */         \
static inline void lstm_split_##SUFFIX(T x1, T x2, T *e0, T *ef, T *ei, T *a, T *ab) {        \
    const T e1 = x1 < 0 ? -x1 : x1, e2 = x2 < 0 ? -x2 : x2;                                    \
    const T big = x1 < 0 ? (T)1 : e1;                                                           \
    *e0 = x1 < 0 ? e1 : (T)1;                                                                   \
    *ef = x2 < 0 ? big : e2; *ei = x2 < 0 ? e2 : big;                                           \
    const T r = (T)1 / ((T)2 * *e0 + *ef + *ei);                                                \
    *a = (*e0 + *ei) * r; *ab = (*e0 + *ef) * r;                                                \
}                                                                                               \
                                                                                                \
static inline void lstm_gates_##SUFFIX(T kf, T ki, T *e0, T *ef, T *ei, T *a, T *ab) {         \
    T x1, x2;                                                                                   \
    lstm_exps_##SUFFIX(kf, ki, &x1, &x2);                                                       \
    lstm_split_##SUFFIX(x1, x2, e0, ef, ei, a, ab);                                             \
}                                                                                               \
                                                                                                \
/* with `save`, z and the signed candidate s (see the top of the file) replace k and p */       \
static void gru_fwd_##SUFFIX(long w, T *restrict qk, T *restrict qp, const T *restrict bk,      \
                             const T *restrict bp, const T *restrict prev, T *restrict h,       \
                             int save) {                                                        \
    for (long u = 0; u < w; u++) {                                                              \
        T xp = qp[u] + bp[u], z = sig_##SUFFIX(qk[u] + bk[u]), c = act_##SUFFIX(xp);            \
        h[u] = prev[u] + z * (c - prev[u]);                                                     \
        if (save) { qk[u] = z; qp[u] = xp >= 0 ? c : -c; }                                      \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* with `save`, lstm_exps' signed x1, x2 and the signed candidate s replace f, i and p */       \
static void lstm_fwd_##SUFFIX(long w, T *restrict qf, T *restrict qi, T *restrict qp,          \
                              const T *restrict bf, const T *restrict bi,                       \
                              const T *restrict bp, const T *restrict prev, T *restrict h,      \
                              int save) {                                                       \
    IVDEP                                                                                       \
    for (long u = 0; u < w; u++) {                                                              \
        T x1, x2, e0, ef, ei, a, ab, xp = qp[u] + bp[u], c = act_##SUFFIX(xp);                  \
        lstm_exps_##SUFFIX(qf[u] + bf[u], qi[u] + bi[u], &x1, &x2);                             \
        lstm_split_##SUFFIX(x1, x2, &e0, &ef, &ei, &a, &ab);                                    \
        h[u] = a * prev[u] + ab * c;                                                            \
        if (save) { qf[u] = x1; qi[u] = x2; qp[u] = xp >= 0 ? c : -c; }                         \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* g = dout_t + carry (the gradient reaching h_t); carry becomes a_t g for step t - 1 */        \
static void gru_bwd_##SUFFIX(long w, const T *restrict qk, const T *restrict qp,                \
                             const T *restrict bk, const T *restrict bp,                        \
                             const T *restrict prev, const T *restrict dout,                    \
                             T *restrict carry, T *restrict dk, T *restrict dp,                 \
                             T *restrict sk, T *restrict sp) {                                  \
    for (long u = 0; u < w; u++) {                                                              \
        T g = dout[u] + carry[u], xk = qk[u] + bk[u], xp = qp[u] + bp[u];                       \
        T z = sig_##SUFFIX(xk), c = act_##SUFFIX(xp);                                           \
        T gk = g * (c - prev[u]) * z * ((T)1 - z), gp = g * z * dact_##SUFFIX(xp);              \
        dk[u] = gk; dp[u] = gp; sk[u] += gk; sp[u] += gp;                                       \
        carry[u] = ((T)1 - z) * g;                                                              \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* the same from the z and s a `save` forward stored (no exponentials; g'(p) = 1 where s > 0, \
 * c (1 - c) where s < 0), writing the gradients over them */                                   \
static void gru_bwd_saved_##SUFFIX(long w, T *restrict qz, T *restrict qs,                     \
                                   const T *restrict prev, const T *restrict dout,              \
                                   T *restrict carry, T *restrict sk, T *restrict sp) {         \
    for (long u = 0; u < w; u++) {                                                              \
        T g = dout[u] + carry[u], z = qz[u], s = qs[u], c = s > 0 ? s : -s;                     \
        T gz = g * z, gk = gz * (c - prev[u]) * ((T)1 - z);                                     \
        T gp = s > 0 ? gz : gz * c * ((T)1 - c);                                                \
        qz[u] = gk; qs[u] = gp; sk[u] += gk; sp[u] += gp;                                       \
        carry[u] = g - gz;                                                                      \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void lstm_bwd_##SUFFIX(long w, const T *restrict qf, const T *restrict qi,               \
                              const T *restrict qp, const T *restrict bf,                       \
                              const T *restrict bi, const T *restrict bp,                       \
                              const T *restrict prev, const T *restrict dout,                   \
                              T *restrict carry, T *restrict df, T *restrict di,                \
                              T *restrict dp, T *restrict sf, T *restrict si,                   \
                              T *restrict sp) {                                                 \
    for (long u = 0; u < w; u++) {                                                              \
        T g = dout[u] + carry[u], xp = qp[u] + bp[u];                                           \
        T e0, ef, ei, a, ab, c = act_##SUFFIX(xp);                                              \
        lstm_gates_##SUFFIX(qf[u] + bf[u], qi[u] + bi[u], &e0, &ef, &ei, &a, &ab);              \
        T d = g * (prev[u] - c) * a * ab; /* through a and through b = (1 - a) c */             \
        T gf = d * ef / (e0 + ef), gi = -d * ei / (e0 + ei); /* (1 - f), (1 - i) */            \
        T gp = g * ab * dact_##SUFFIX(xp);                                                      \
        df[u] = gf; di[u] = gi; dp[u] = gp; sf[u] += gf; si[u] += gi; sp[u] += gp;              \
        carry[u] = a * g;                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* the same from what a `save` forward stored (no exponentials), writing the gradients over it */ \
static void lstm_bwd_saved_##SUFFIX(long w, T *restrict qf, T *restrict qi, T *restrict qs,     \
                                    const T *restrict prev, const T *restrict dout,             \
                                    T *restrict carry, T *restrict sf, T *restrict si,          \
                                    T *restrict sp) {                                           \
    IVDEP                                                                                       \
    for (long u = 0; u < w; u++) {                                                              \
        T e0, ef, ei, a, ab, g = dout[u] + carry[u], s = qs[u], c = s > 0 ? s : -s;            \
        lstm_split_##SUFFIX(qf[u], qi[u], &e0, &ef, &ei, &a, &ab);                              \
        T d = g * (prev[u] - c) * a * ab;                                                       \
        T gf = d * ef / (e0 + ef), gi = -d * ei / (e0 + ei);                                    \
        T gp = s > 0 ? g * ab : g * ab * c * ((T)1 - c);                                        \
        qf[u] = gf; qi[u] = gi; qs[u] = gp; sf[u] += gf; si[u] += gi; sp[u] += gp;              \
        carry[u] = a * g;                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* the w values of each of the G gate blocks of one row of P, into the cache */                \
static inline void prefetch_##SUFFIX(const T *q, long G, long H, long w) {                      \
    for (long k = 0; k < G; k++)                                                                \
        for (long u = 0; u < w; u += 64 / sizeof(T)) __builtin_prefetch(q + k * H + u, 0, 3);   \
}                                                                                               \
                                                                                                \
static void forward_##SUFFIX(const job_t *jb, long row, long j0, long j1) {                     \
    const long G = jb->kind, H = jb->hidden, L = jb->len, w = j1 - j0;                          \
    T *P = (T *)jb->p + row * L * G * H + j0;                                                   \
    const T *B = (const T *)jb->beta + j0;                                                      \
    T *out = (T *)jb->res + row * L * H + j0;                                                   \
    const T *prev = (const T *)jb->h0 + row * H + j0;                                           \
    for (long t = 0; t < L; t++) {                                                              \
        T *q = P + t * G * H, *h = out + t * H;                                                 \
        if (t + PF < L) prefetch_##SUFFIX(q + PF * G * H, G, H, w);                             \
        if (G == 2) gru_fwd_##SUFFIX(w, q, q + H, B, B + H, prev, h, jb->saved);                \
        else lstm_fwd_##SUFFIX(w, q, q + H, q + 2 * H, B, B + H, B + 2 * H, prev, h,              \
                               jb->saved);                                                      \
        prev = h;                                                                               \
    }                                                                                           \
}                                                                                               \
                                                                                                \
static void backward_##SUFFIX(const job_t *jb, long row, long j0, long j1) {                    \
    const long G = jb->kind, H = jb->hidden, L = jb->len, w = j1 - j0;                          \
    const long st = jb->st, sj = jb->sj;                                                        \
    T *P = (T *)jb->p + row * L * G * H + j0;                                                   \
    const T *B = (const T *)jb->beta + j0;                                                      \
    const T *h0 = (const T *)jb->h0 + row * H + j0;                                             \
    const T *out = (const T *)jb->out + row * L * H + j0;                                       \
    const T *dout = (const T *)jb->dout + row * jb->sn + j0 * sj;                               \
    T *dP = (T *)jb->dp + row * L * G * H + j0;                                                 \
    T carry[BLOCK], acc[3][BLOCK], gbuf[BLOCK]; /* a_{t+1} g_{t+1}; sums of dP; dout */         \
    for (long u = 0; u < w; u++) carry[u] = acc[0][u] = acc[1][u] = acc[2][u] = 0;              \
    for (long t = L - 1; t >= 0; t--) {                                                         \
        T *q = P + t * G * H;                                                                   \
        const T *prev = t > 0 ? out + (t - 1) * H : h0;                                         \
        if (t - PF >= 0) prefetch_##SUFFIX(q - PF * G * H, G, H, w);                            \
        const T *gt = dout + t * st, *gv = gt;                                                  \
        T *d = dP + t * G * H;                                                                  \
        if (sj == 0) { /* expanded along H (as from out.sum()): one value */                    \
            const T v = gt[0];                                                                  \
            for (long u = 0; u < w; u++) gbuf[u] = v;                                           \
            gv = gbuf;                                                                          \
        } else if (sj != 1) { /* strided gradient: gather the block first */                     \
            for (long u = 0; u < w; u++) gbuf[u] = gt[u * sj];                                  \
            gv = gbuf;                                                                          \
        }                                                                                       \
        if (G == 3 && jb->saved)                                                                \
            lstm_bwd_saved_##SUFFIX(w, q, q + H, q + 2 * H, prev, gv, carry, acc[0], acc[1],     \
                                    acc[2]);                                                    \
        else if (G == 3)                                                                        \
            lstm_bwd_##SUFFIX(w, q, q + H, q + 2 * H, B, B + H, B + 2 * H, prev, gv, carry,     \
                              d, d + H, d + 2 * H, acc[0], acc[1], acc[2]);                     \
        else if (jb->saved)                                                                     \
            gru_bwd_saved_##SUFFIX(w, q, q + H, prev, gv, carry, acc[0], acc[1]);               \
        else                                                                                    \
            gru_bwd_##SUFFIX(w, q, q + H, B, B + H, prev, gv, carry, d, d + H, acc[0], acc[1]); \
    }                                                                                           \
    T *dh0 = (T *)jb->dh0 + row * H + j0;                                                       \
    for (long u = 0; u < w; u++) dh0[u] = carry[u];                                             \
    if (jb->dbeta != NULL) {                                                                    \
        T *db = (T *)jb->dbeta + row * G * H + j0;                                              \
        for (long k = 0; k < G; k++)                                                            \
            for (long u = 0; u < w; u++) db[k * H + u] = acc[k][u];                             \
    }                                                                                           \
}

DEFINE_KERNELS(float, exp_f32, f32)
DEFINE_KERNELS(double, exp_f64, f64)

static void run_item(const job_t *jb, long item) {
    const long blocks = (jb->hidden + jb->width - 1) / jb->width;
    const long row = item / blocks, j0 = (item % blocks) * jb->width;
    const long j1 = j0 + jb->width < jb->hidden ? j0 + jb->width : jb->hidden;
    const int backward = jb->dout != NULL;
    if (jb->dbl) {
        if (backward) backward_f64(jb, row, j0, j1); else forward_f64(jb, row, j0, j1);
    } else {
        if (backward) backward_f32(jb, row, j0, j1); else forward_f32(jb, row, j0, j1);
    }
}

/* The block width: at most BLOCK units, and narrow enough that the n rows give every thread
 * at least one (row, block) item, in multiples of LANES units. */
static long block_width(long n, long hidden, int threads) {
    long blocks = (hidden + BLOCK - 1) / BLOCK;
    if (n * blocks < threads) blocks = (threads + n - 1) / n;
    long width = (hidden + blocks - 1) / blocks;
    width = (width + LANES - 1) / LANES * LANES;
    return width < BLOCK ? width : BLOCK;
}

static int run(job_t jb, int threads) {
    void *zeros = NULL;
    if (jb.beta == NULL) { /* no bias: add zeros */
        zeros = calloc((size_t)(jb.kind * jb.hidden), jb.dbl ? sizeof(double) : sizeof(float));
        if (zeros == NULL) return 1;
        jb.beta = zeros;
    }
    if (threads < 1) threads = 1;
    jb.width = block_width(jb.n, jb.hidden, threads);
    const long items = jb.n * ((jb.hidden + jb.width - 1) / jb.width);
    if (threads > items) threads = (int)items;
    PARALLEL_ROWS
    for (long item = 0; item < items; item++) run_item(&jb, item);
    free(zeros);
    return 0;
}

int rnnkit_min_forward(int kind, int dbl, long n, long len, long hidden, void *p,
                       const void *beta, const void *h0, void *out, int save, int threads) {
    job_t jb = {kind, dbl, n, len, hidden, p, beta, h0, NULL, NULL, 0, 0, 0,
                out, NULL, NULL, NULL, save, 0};
    return run(jb, threads);
}

int rnnkit_min_backward(int kind, int dbl, long n, long len, long hidden, void *p,
                        const void *beta, const void *h0, const void *out, const void *dout,
                        long sn, long st, long sj, void *dp, void *dbeta, void *dh0,
                        int saved, int threads) {
    job_t jb = {kind, dbl, n, len, hidden, p, beta, h0, out, dout, sn, st, sj,
                NULL, dp, dbeta, dh0, saved, 0};
    return run(jb, threads);
}
