/* Elementwise functions for rnnkit's kernels, inline so that loops over hidden units vectorise
 * whole, without calls into libm (glibc's vector library has expf at some widths and no tanhf at
 * others, so gcc left several kernels' gate loops scalar).
 *
 * float: e^x = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2]
 * (ln 2 split in two so n ln 2 is exact); e^r - 1 by its Taylor series to r^7 (relative error
 * below 2e-8, under a float's half ulp); 2^n built in the exponent bits. Then
 *   exp_f32(x)   = 2^n (1 + q(r)),             x clamped to [-87, 88] (a finite normal float),
 *   expm1_f32(x) = 2^n q(r) + (2^n - 1),       exact near 0, where e^x - 1 would cancel,
 *   tanh_f32(x)  = m / (m + 2), m = expm1_f32(2x), x clamped to [-9, 9] (tanh(9) rounds to 1).
 * Clamping keeps every gate finite where the arguments are extreme: a sigmoid saturates instead
 * of producing inf or 0/0. double: libm's exp, clamped to [-708, 708] likewise, and tanh.
 * The clamps let NaN through (clamp_f32/clamp_f64 compare, and a comparison with NaN is false),
 * so a NaN in a gate's argument comes out as NaN: fminf/fmaxf would return the bound instead
 * and hide a diverged model behind finite numbers.
 *
 * The steps are explicit fmaf calls: the kernels are built with -fassociative-math (build.py),
 * which lets gcc reassociate plain arithmetic; that would lose the exact n ln 2 and turn
 * 2^n q + (2^n - 1) back into a cancelling 2^n (1 + q) - 1. They are never built with
 * -ffinite-math-only or -ffast-math (which also sets flush-to-zero for the whole process).
 * Including this header also asks gcc for 512-bit vectors (below). */
#ifndef RNNKIT_FASTMATH_H
#define RNNKIT_FASTMATH_H

#include <math.h>

/* gcc's -march=native keeps to 256-bit vectors on many AVX-512 CPUs; the kernels' gate loops are
 * long and branch-free, which suits 512-bit vectors (benchmarks/kernel_flags.py measures the
 * kernels). Where the CPU has no 512-bit vectors it changes nothing. */
#pragma GCC target("prefer-vector-width=512")

/* x limited to [lo, hi], NaN kept (x86's maxps/minps in this operand order) */
static inline float clamp_f32(float x, float lo, float hi) {
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

static inline double clamp_f64(double x, double lo, double hi) {
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* q(r) = e^r - 1 for |r| <= ln 2 / 2 */
static inline float expm1_poly_f32(float r) {
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    return p * r;
}

/* n = round(x / ln 2) and r = x - n ln 2; returns 2^n (for x NaN, r is NaN and so is the
 * result, whatever the scale). rint rounds in the current mode (to nearest unless a program
 * changed it; otherwise |r| < ln 2 and the series loses a few ulp) and compiles to one vector
 * instruction, where roundf's halfway rule takes several and a libm call in scalar code. */
static inline float reduce_f32(float x, float *r) {
    const float n = __builtin_rintf(x * 1.44269504088896341f);
    *r = fmaf(-n, 1.42860682030941723e-6f, fmaf(-n, 0.693145751953125f, x));
    union { int i; float f; } scale;
    scale.i = ((int)n + 127) << 23;
    return scale.f;
}

static inline float exp_f32(float x) {
    float r;
    const float s = reduce_f32(clamp_f32(x, -87.0f, 88.0f), &r);
    return s * (expm1_poly_f32(r) + 1.0f);  /* e^r near 1: nothing cancels */
}

static inline float expm1_f32(float x) {
    float r;
    const float s = reduce_f32(clamp_f32(x, -87.0f, 88.0f), &r);
    return fmaf(s, expm1_poly_f32(r), s - 1.0f);
}

static inline float tanh_f32(float x) {
    const float m = expm1_f32(2.0f * clamp_f32(x, -9.0f, 9.0f));
    return m / (m + 2.0f);
}

static inline double exp_f64(double x) { return exp(clamp_f64(x, -708.0, 708.0)); }

static inline double tanh_f64(double x) { return tanh(x); }

#endif
