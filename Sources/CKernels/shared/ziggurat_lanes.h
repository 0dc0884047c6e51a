/* GSL's ziggurat normal on eight taus2 lanes, shared by normal_lanes.c and the compiled
   step kernels (Diffusion/Integrators/CompiledStepKernel.swift builds those at run time from
   this file and fused_steps_template.h). Every operation is rounded as written: compile with
   -ffp-contract=off -fno-fast-math, so the results are GSL's bits. See normal_lanes.h. */
#ifndef SGD_ESCAPE_ZIGGURAT_LANES_H
#define SGD_ESCAPE_ZIGGURAT_LANES_H

#include "../include/normal_lanes.h"
#include <math.h>
#include <string.h>

typedef uint32_t u8x __attribute__((vector_size(32)));
typedef int32_t i8x __attribute__((vector_size(32)));
typedef double d8 __attribute__((vector_size(64)));
typedef uint64_t q8 __attribute__((vector_size(64)));
typedef double d8u __attribute__((vector_size(64), aligned(8)));
typedef uint32_t u8xu __attribute__((vector_size(32), aligned(4)));

/* taus_get of gsl/rng/taus.c on one state */
static inline __attribute__((always_inline)) uint32_t taus2_next(void *context) {
    uint32_t *s = (uint32_t *)context;
    s[0] = ((s[0] & 0xFFFFFFFEu) << 12) ^ (((s[0] << 13) ^ s[0]) >> 19);
    s[1] = ((s[1] & 0xFFFFFFF8u) << 4) ^ (((s[1] << 2) ^ s[1]) >> 25);
    s[2] = ((s[2] & 0xFFFFFFF0u) << 17) ^ (((s[2] << 3) ^ s[2]) >> 11);
    return s[0] ^ s[1] ^ s[2];
}

/* sign·x with GSL's sign (+ when bit 7 of the word is set): the sign bit flipped, the same
   bits as GSL's `sign * sigma * x` with sigma = 1 */
static inline __attribute__((always_inline)) double with_sign(double x, uint32_t u) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    b ^= (uint64_t)(~u & 0x80u) << 56;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* y < exp(e), GSL's acceptance test, with exp evaluated only where cheap bounds cannot
   decide: for −1 ≤ e ≤ 0 the terms of Σ eᵏ/k! alternate in sign and fall in size, so the
   partial sums S₃ ≤ eᵉ ≤ S₄ (S_n = Σ_{k≤n} eᵏ/k!). Their rounding error (≤ 10⁻¹⁵: terms ≤ 1)
   and exp's (< 1 ulp) are far inside the 10⁻¹⁴ margins, so no decision differs from
   comparing with exp itself; exp is called only when y lies within ≈ e⁴/24 + 2·10⁻¹⁴ of
   eᵉ, or for e < −1. Most slow draws are step 0 (x ≤ 0.28, e ≥ −0.04), whose decision
   the bounds settle. */
static inline __attribute__((always_inline)) int below_exp(double y, double e) {
    if (e >= -1.0) {
        const double s3 = 1 + e * (1 + e * (0.5 + e * (1.0 / 6)));
        const double s4 = 1 + e * (1 + e * (0.5 + e * (1.0 / 6 + e * (1.0 / 24))));
        if (y < s3 - 1e-14) return 1;
        if (y >= s4 + 1e-14) return 0;
    }
    return y < exp(e);
}

/* gsl_ran_gaussian_ziggurat from the word `first` on, operation for operation: the wedge
   y = y[i+1] + (y[i] − y[i+1])·U₁ for i < 127, the tail x = R − ln(1 − U₁)/R,
   y = exp(−R(x − R/2))·U₂ for i = 127 (U = word/2³², gsl_rng_uniform for taus2), accepted
   when y < exp(−x²/2), otherwise a new word. `next` is a constant at each call site and
   inlined there. */
static inline __attribute__((always_inline))
double slow_path(uint32_t first, void *context, uint32_t (*next)(void *), const sgd_ziggurat_tables *t) {
    const double r = t->r;
    uint32_t u = first;
    for (;;) {
        const uint32_t i = u & 0x7Fu, j = (u >> 8) & 0xFFFFFFu;
        double x = (double)j * t->w[i];
        if (j < t->k[i]) return with_sign(x, u);
        double y;
        if (i < 127) {
            const double y0 = t->y[i], y1 = t->y[i + 1];
            const double u1 = next(context) / 4294967296.0;
            y = y1 + (y0 - y1) * u1;
        } else {
            const double u1 = 1.0 - next(context) / 4294967296.0;
            const double u2 = next(context) / 4294967296.0;
            x = r - log(u1) / r;
            y = exp(-r * (x - 0.5 * r)) * u2;
        }
        if (below_exp(y, -0.5 * x * x)) return with_sign(x, u);
        u = next(context);
    }
}

/* one lane's slow draw on its own state (out of line: rare, and it keeps the group loop small) */
static __attribute__((noinline, unused)) double slow_lane(uint32_t first, uint32_t *s, const sgd_ziggurat_tables *t) {
    return slow_path(first, s, taus2_next, t);
}

/* One group of eight: each lane's taus2 state s1[l], s2[l], s3[l] advanced by one GSL
   ziggurat draw (its fast path in SIMD lanes; a lane that leaves it finishes with GSL's
   slow path on its own state), the eight normals returned. */
static inline __attribute__((always_inline))
d8 draw_group(u8x *p1, u8x *p2, u8x *p3, const sgd_ziggurat_tables *t) {
    u8x s1 = *p1, s2 = *p2, s3 = *p3;
    const uint32_t *K = t->k;
    const double *W = t->w;
    s1 = ((s1 & 0xFFFFFFFEu) << 12) ^ (((s1 << 13) ^ s1) >> 19);
    s2 = ((s2 & 0xFFFFFFF8u) << 4) ^ (((s2 << 2) ^ s2) >> 25);
    s3 = ((s3 & 0xFFFFFFF0u) << 17) ^ (((s3 << 3) ^ s3) >> 11);
    const u8x u = s1 ^ s2 ^ s3;
    const u8x i = u & 0x7Fu, j = (u >> 8) & 0xFFFFFFu;
    u8x k;
    d8 w;
    for (int l = 0; l < 8; l++) { k[l] = K[i[l]]; w[l] = W[i[l]]; }
    const i8x slow = (i8x)(j >= k);
    const d8 v = __builtin_convertvector((i8x)j, d8) * w;  /* j < 2²⁴: exact */
    const q8 sign = __builtin_convertvector(~u & 0x80u, q8) << 56;
    d8 normal = (d8)((q8)v ^ sign);
    int any = 0;
    for (int l = 0; l < 8; l++) any |= slow[l];
    if (__builtin_expect(any != 0, 0)) {
        /* the rare lanes that leave the fast path, each on its own state, blended back in
           with lane masks (writing single lanes through memory would stall the reloads) */
        const i8x lane = { 0, 1, 2, 3, 4, 5, 6, 7 };
        for (int l = 0; l < 8; l++) {
            if (!slow[l]) continue;
            uint32_t st[3] = { s1[l], s2[l], s3[l] };
            const double v = slow_lane(u[l], st, t);
            const u8x m = (u8x)(lane == l);
            s1 = (s1 & ~m) | ((u8x){0} + st[0]) & m;
            s2 = (s2 & ~m) | ((u8x){0} + st[1]) & m;
            s3 = (s3 & ~m) | ((u8x){0} + st[2]) & m;
            const q8 mq = __builtin_convertvector((i8x)m, q8);
            normal = (d8)(((q8)normal & ~mq) | ((q8)((d8){0} + v) & mq));
        }
    }
    *p1 = s1; *p2 = s2; *p3 = s3;
    return normal;
}

#endif
