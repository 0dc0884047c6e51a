/* See include/block_tests.h. Compiled with -ffp-contract=off (Package.swift). */
#include "block_tests.h"
#include <string.h>

typedef double v8 __attribute__((vector_size(64)));
typedef double v8u __attribute__((vector_size(64), aligned(8)));
typedef long v8l __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) v8 ld(const double *p) { return *(const v8u *)p; }

static inline __attribute__((always_inline))
void diverged_body(const double *x, long stride, long rows, long count, double bound, long *outcome, long code) {
    const v8l mask = (v8l){0, 0, 0, 0, 0, 0, 0, 0} + 0x7FFFFFFFFFFFFFFFL;
    v8 b; for (int k = 0; k < 8; k++) b[k] = bound;
    if (stride % 8 != 0) {
        /* lanes one by one; with stride 1 (a one-lane block) the rows are contiguous */
        for (long i = 0; i < count; i++) {
            long j = 0;
            v8l bad = (v8l){0, 0, 0, 0, 0, 0, 0, 0};
            if (stride == 1)
                for (; j + 8 <= rows; j += 8) bad |= ~((v8)((v8l)ld(x + j + i) & mask) <= b);
            int any = 0;
            for (int k = 0; k < 8; k++) any |= bad[k] != 0;
            for (; j < rows; j++) { const double v = x[j * stride + i]; any |= !(__builtin_fabs(v) <= bound); }
            if (any) outcome[i] = code;
        }
        return;
    }
    for (long i0 = 0; i0 < count; i0 += 8) {
        v8l bad = (v8l){0, 0, 0, 0, 0, 0, 0, 0};
        for (long j = 0; j < rows; j++) {
            const v8 a = (v8)((v8l)ld(x + j * stride + i0) & mask);  /* |x| */
            bad |= ~(a <= b);                                         /* true for NaN too */
        }
        const long n = count - i0 < 8 ? count - i0 : 8;
        for (long k = 0; k < n; k++) if (bad[k]) outcome[i0 + k] = code;
    }
}

/* Σ_j e_j² as eight partial sums s_q = Σ_{j ≡ q mod 8} e_j² (each in index order), then
   ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): one order for every layout, and with
   one contiguous lane the partial sums are the lanes of one vector. */
static inline __attribute__((always_inline)) double combine(const double *s) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static inline __attribute__((always_inline))
void distance_body(const double *x, long stride, long rows, long count, const double *center, double *out) {
    if (stride % 8 != 0) {
        for (long i = 0; i < count; i++) {
            v8 acc = (v8){0, 0, 0, 0, 0, 0, 0, 0};
            long j = 0;
            if (stride == 1)
                for (; j + 8 <= rows; j += 8) { const v8 e = ld(x + j + i) - ld(center + j); acc += e * e; }
            double s[8];
            memcpy(s, &acc, sizeof s);
            for (; j < rows; j++) { const double e = x[j * stride + i] - center[j]; s[j % 8] += e * e; }
            out[i] = combine(s);
        }
        return;
    }
    for (long i0 = 0; i0 < count; i0 += 8) {
        v8 acc[8];
        for (int q = 0; q < 8; q++) acc[q] = (v8){0, 0, 0, 0, 0, 0, 0, 0};
        long j = 0;
        for (; j + 8 <= rows; j += 8)
            for (int q = 0; q < 8; q++) { const v8 e = ld(x + (j + q) * stride + i0) - center[j + q]; acc[q] += e * e; }
        for (; j < rows; j++) { const v8 e = ld(x + j * stride + i0) - center[j]; acc[j % 8] += e * e; }
        const long n = count - i0 < 8 ? count - i0 : 8;
        for (long k = 0; k < n; k++) {
            double s[8];
            for (int q = 0; q < 8; q++) s[q] = acc[q][k];
            out[i0 + k] = combine(s);
        }
    }
}

/* The 1-D, one-term outcome: term 0 where the indicator is non-zero, running otherwise,
   diverged where |x| > bound or NaN; returns whether any lane is not running. */
static inline __attribute__((always_inline))
long outcome1_body(const double *x, const double *indicator, long count, double bound, long *outcome,
                   long running, long diverged) {
    long finished = 0;
    for (long i = 0; i < count; i++) {
        const long code = indicator[i] != 0 ? 0 : running;
        const long o = __builtin_fabs(x[i]) <= bound ? code : diverged;
        outcome[i] = o;
        finished |= o ^ running;
    }
    return finished != 0;
}

/* The bridge test's first pass for a level with a constant gradient norm (see the header). */
static inline __attribute__((always_inline))
long near_body(const double *g, double offset, long add_offset, double *dist, double inverse_norm, long count,
               double cut, double *product, long *candidates, long all_products) {
    long near = 0;
    long i0 = 0;
    v8 v, c, inf, off, zero = (v8){0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < 8; k++) { v[k] = inverse_norm; c[k] = cut; inf[k] = __builtin_inf(); off[k] = offset; }
    for (; i0 + 8 <= count; i0 += 8) {
        const v8 gv = add_offset ? ld(g + i0) + off : ld(g + i0);
        const v8 d1 = -gv * v, d0 = ld(dist + i0);
        *(v8u *)(dist + i0) = d1;
        const v8l lt = d0 < d1;
        const v8 m = (v8)(((v8l)d0 & lt) | ((v8l)d1 & ~lt));  /* d0 < d1 ? d0 : d1 */
        const v8l positive = m > zero;
        const v8 p = (v8)(((v8l)(d0 * d1) & positive) | ((v8l)inf & ~positive));
        if (all_products) *(v8u *)(product + i0) = p;
        const v8l below = p < c;
        long any = 0;
        for (int k = 0; k < 8; k++) any |= below[k];
        if (__builtin_expect(any != 0, 0))  /* rare: few lanes are near a boundary */
            for (int k = 0; k < 8; k++)
                if (below[k]) { product[i0 + k] = p[k]; candidates[near++] = i0 + k; }
    }
    for (long i = i0; i < count; i++) {
        const double gi = add_offset ? g[i] + offset : g[i];
        const double d1 = -gi * inverse_norm, d0 = dist[i];
        dist[i] = d1;
        const double p = (d0 < d1 ? d0 : d1) > 0 ? d0 * d1 : __builtin_inf();
        product[i] = p;
        if (p < cut) candidates[near++] = i;
    }
    return near;
}

/* The 2-D Hessian-noise Euler–Maruyama update for the lanes whose c·H is positive definite
   (see the header). */
static inline __attribute__((always_inline))
long hessian2_body(const double *H, long w, double c, const double *z, const double *g, double *x, double h,
                   double root, double *factor, long count, long *others) {
    long rest = 0, i0 = 0;
    v8 cv, hv, rv, half, zero = (v8){0, 0, 0, 0, 0, 0, 0, 0}, one, two;
    for (int k = 0; k < 8; k++) { cv[k] = c; hv[k] = h; rv[k] = root; half[k] = 0.5; one[k] = 1; two[k] = 2; }
    for (; i0 + 8 <= count; i0 += 8) {
        const v8 a11 = cv * ld(H + i0), a12 = cv * ld(H + w + i0), a21 = cv * ld(H + 2 * w + i0), a22 = cv * ld(H + 3 * w + i0);
        const v8 b = half * (a12 + a21);
        const v8 det = a11 * a22 - b * b, trace = a11 + a22;
        const v8l pd = (det > zero) & (trace > zero);
        v8 r, q;
        for (int k = 0; k < 8; k++) r[k] = __builtin_sqrt(det[k] > 0 ? det[k] : 0);
        const v8 sum = trace + two * r;
        for (int k = 0; k < 8; k++) q[k] = __builtin_sqrt(sum[k] > 0 ? sum[k] : 1);
        const v8 inverse = one / q;
        const v8 s0 = (a11 + r) * inverse, s1 = b * inverse, s2 = b * inverse, s3 = (a22 + r) * inverse;
        const v8 z0 = ld(z + i0), z1 = ld(z + w + i0);
        const v8 n0 = (zero + s0 * z0) + s1 * z1, n1 = (zero + s2 * z0) + s3 * z1;
        const v8 x0 = ld(x + i0), x1 = ld(x + w + i0);
        const v8 y0 = (x0 - hv * ld(g + i0)) + rv * n0, y1 = (x1 - hv * ld(g + w + i0)) + rv * n1;
        *(v8u *)(x + i0) = (v8)(((v8l)y0 & pd) | ((v8l)x0 & ~pd));
        *(v8u *)(x + w + i0) = (v8)(((v8l)y1 & pd) | ((v8l)x1 & ~pd));
        for (int k = 0; k < 8; k++) {
            if (pd[k]) {
                double *f = factor + 4 * (i0 + k);
                f[0] = s0[k]; f[1] = s1[k]; f[2] = s2[k]; f[3] = s3[k];
            } else {
                others[rest++] = i0 + k;
            }
        }
    }
    for (long i = i0; i < count; i++) {
        const double a11 = c * H[i], a12 = c * H[w + i], a21 = c * H[2 * w + i], a22 = c * H[3 * w + i];
        const double b = 0.5 * (a12 + a21);
        const double det = a11 * a22 - b * b, trace = a11 + a22;
        if (!(det > 0 && trace > 0)) { others[rest++] = i; continue; }
        const double r = __builtin_sqrt(det), inverse = 1 / __builtin_sqrt(trace + 2 * r);
        const double s0 = (a11 + r) * inverse, s1 = b * inverse, s2 = b * inverse, s3 = (a22 + r) * inverse;
        double *f = factor + 4 * i;
        f[0] = s0; f[1] = s1; f[2] = s2; f[3] = s3;
        const double n0 = (0.0 + s0 * z[i]) + s1 * z[w + i], n1 = (0.0 + s2 * z[i]) + s3 * z[w + i];
        x[i] = (x[i] - h * g[i]) + root * n0;
        x[w + i] = (x[w + i] - h * g[w + i]) + root * n1;
    }
    return rest;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static long hessian512(const double *H, long w, double c, const double *z, const double *g, double *x, double h, double r, double *f, long n, long *o) { return hessian2_body(H, w, c, z, g, x, h, r, f, n, o); }
__attribute__((target("avx2"))) static long hessian256(const double *H, long w, double c, const double *z, const double *g, double *x, double h, double r, double *f, long n, long *o) { return hessian2_body(H, w, c, z, g, x, h, r, f, n, o); }
__attribute__((target("avx512f"))) static long near512(const double *g, double f, long a, double *d, double v, long n, double c, double *p, long *o, long all) { return near_body(g, f, a, d, v, n, c, p, o, all); }
__attribute__((target("avx2"))) static long near256(const double *g, double f, long a, double *d, double v, long n, double c, double *p, long *o, long all) { return near_body(g, f, a, d, v, n, c, p, o, all); }
__attribute__((target("avx512f"))) static long outcome512(const double *x, const double *t, long n, double b, long *o, long r, long d) { return outcome1_body(x, t, n, b, o, r, d); }
__attribute__((target("avx2"))) static long outcome256(const double *x, const double *t, long n, double b, long *o, long r, long d) { return outcome1_body(x, t, n, b, o, r, d); }
__attribute__((target("avx512f"))) static void diverged512(const double *x, long s, long r, long c, double b, long *o, long code) { diverged_body(x, s, r, c, b, o, code); }
__attribute__((target("avx2"))) static void diverged256(const double *x, long s, long r, long c, double b, long *o, long code) { diverged_body(x, s, r, c, b, o, code); }
__attribute__((target("avx512f"))) static void distance512(const double *x, long s, long r, long c, const double *z, double *o) { distance_body(x, s, r, c, z, o); }
__attribute__((target("avx2"))) static void distance256(const double *x, long s, long r, long c, const double *z, double *o) { distance_body(x, s, r, c, z, o); }
#endif

void sgd_block_mark_diverged(const double *x, long stride, long rows, long count, double bound,
                             long *outcome, long code, long isa) {
#if defined(__x86_64__)
    if (isa == 2) { diverged512(x, stride, rows, count, bound, outcome, code); return; }
    if (isa == 1) { diverged256(x, stride, rows, count, bound, outcome, code); return; }
#endif
    diverged_body(x, stride, rows, count, bound, outcome, code);
}

void sgd_block_squared_distance(const double *x, long stride, long rows, long count, const double *center,
                                double *out, long isa) {
#if defined(__x86_64__)
    if (isa == 2) { distance512(x, stride, rows, count, center, out); return; }
    if (isa == 1) { distance256(x, stride, rows, count, center, out); return; }
#endif
    distance_body(x, stride, rows, count, center, out);
}

long sgd_block_outcome_1d(const double *x, const double *indicator, long count, double bound, long *outcome,
                          long running, long diverged, long isa) {
#if defined(__x86_64__)
    if (isa == 2) return outcome512(x, indicator, count, bound, outcome, running, diverged);
    if (isa == 1) return outcome256(x, indicator, count, bound, outcome, running, diverged);
#endif
    return outcome1_body(x, indicator, count, bound, outcome, running, diverged);
}

static long near(const double *g, double offset, long add_offset, double *dist, double inverse_norm, long count,
                 double cut, double *product, long *candidates, long all_products, long isa) {
#if defined(__x86_64__)
    if (isa == 2) return near512(g, offset, add_offset, dist, inverse_norm, count, cut, product, candidates, all_products);
    if (isa == 1) return near256(g, offset, add_offset, dist, inverse_norm, count, cut, product, candidates, all_products);
#endif
    return near_body(g, offset, add_offset, dist, inverse_norm, count, cut, product, candidates, all_products);
}

long sgd_bridge_near(const double *g, double *dist, double inverse_norm, long count, double cut, double *product,
                     long *candidates, long isa) {
    return near(g, 0, 0, dist, inverse_norm, count, cut, product, candidates, 1, isa);
}

long sgd_bridge_near_offset(const double *g, double offset, long add_offset, double *dist, double inverse_norm,
                            long count, double cut, double *product, long *candidates, long isa) {
    return near(g, offset, add_offset, dist, inverse_norm, count, cut, product, candidates, 0, isa);
}

long sgd_hessian2_step(const double *hess, long stride, double c, const double *z, const double *gradient, double *x,
                       double h, double root, double *factor, long count, long *others, long isa) {
#if defined(__x86_64__)
    if (isa == 2) return hessian512(hess, stride, c, z, gradient, x, h, root, factor, count, others);
    if (isa == 1) return hessian256(hess, stride, c, z, gradient, x, h, root, factor, count, others);
#endif
    return hessian2_body(hess, stride, c, z, gradient, x, h, root, factor, count, others);
}
