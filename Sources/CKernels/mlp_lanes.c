/* The lanes kernel of MLP+Lanes.swift: see include/mlp_lanes.h and that file's documentation.
   Compiled with -ffp-contract=off (Package.swift): every product and sum is rounded as
   written, so the AVX-512, AVX2 and generic builds of the same body give the same bits. */
#include "mlp_lanes.h"
#include <math.h>
#include <string.h>

#define G SGD_MLP_LANE_GROUP
#define CHUNK SGD_MLP_LANE_CHUNK

typedef double v8 __attribute__((vector_size(8 * G)));
typedef double v8u __attribute__((vector_size(8 * G), aligned(8)));
typedef long v8l __attribute__((vector_size(8 * G)));

static inline __attribute__((always_inline)) v8 ld(const double *p) { return *(const v8u *)p; }
static inline __attribute__((always_inline)) void st(double *p, v8 v) { *(v8u *)p = v; }
/* The first n lanes of v into p (n ≤ G): lanes past the block's count are never written. */
static inline __attribute__((always_inline)) void st_n(double *p, v8 v, long n) {
    if (n == G) st(p, v); else memcpy(p, &v, (size_t)n * sizeof(double));
}
static inline __attribute__((always_inline)) v8 splat(double x) {
    v8 v; for (int i = 0; i < G; i++) v[i] = x; return v;
}

long sgd_mlp_lanes_work_size(const sgd_mlp_lanes_net *net) {
    return 3L * CHUNK * net->total_units * G + 2L * CHUNK * G + net->dimension * G;
}

/* The samples, weights and inputs of one group of G lanes (`active` of them real) over
   samples r0 ..< r0 + R (R ≤ CHUNK), then the forward pass. Unit u of sample r is the
   vector at act + (r·T + u)·G; idx and wt hold each lane's sample and weight. Returns the
   offset of the output layer's units. */
static inline __attribute__((always_inline))
long forward_chunk(const sgd_mlp_lanes_net *net, const double *theta, long stride, long base, long active,
                   const long *indices, long first, const double *weights, long r0, long R, double *work) {
    const long L = net->layers, T = net->total_units, p = net->sizes[0];
    const double c = net->scale;
    double *act = work, *slope = work + CHUNK * T * G;
    long *idx = (long *)(work + 3 * CHUNK * T * G);
    double *wt = work + 3 * CHUNK * T * G + CHUNK * G;
    /* the samples and weights of each lane; lanes past `active` read sample 0 with weight 0 */
    for (long r = 0; r < R; r++) {
        for (long i = 0; i < G; i++) {
            long s = 0; double w = 0;
            if (i < active) {
                s = indices ? indices[(r0 + r) * stride + base + i] : first + r0 + r;
                w = weights ? weights[(r0 + r) * stride + base + i] : 1.0;
            }
            idx[r * G + i] = s;
            wt[r * G + i] = w;
        }
        double *a0 = act + r * T * G;
        for (long j = 0; j < p; j++)
            for (long i = 0; i < G; i++) a0[j * G + i] = net->inputs[idx[r * G + i] * p + j];
    }
    /* forward: z_l = c(W_l a_{l−1} + b_l), a_l = σ(z_l) below the output */
    long unitPrev = 0;
    for (long l = 1; l <= L; l++) {
        const long rows = net->sizes[l], cols = net->sizes[l - 1], unit = unitPrev + cols;
        const double *W = theta + net->weight_offsets[l - 1] * stride + base;
        for (long o = 0; o < rows; o++) {
            const double *Wo = W + o * cols * stride;
            const v8 b = net->bias ? ld(theta + (net->bias_offsets[l - 1] + o) * stride + base) : splat(0);
            long r = 0;
            for (; r + 4 <= R; r += 4) {
                const double *A0 = act + (r * T + unitPrev) * G, *A1 = A0 + T * G, *A2 = A1 + T * G, *A3 = A2 + T * G;
                v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
                for (long in = 0; in < cols; in++) {
                    const v8 w = ld(Wo + in * stride);
                    s0 += w * ld(A0 + in * G); s1 += w * ld(A1 + in * G);
                    s2 += w * ld(A2 + in * G); s3 += w * ld(A3 + in * G);
                }
                st(act + (r * T + unit + o) * G, c * (s0 + b));
                st(act + ((r + 1) * T + unit + o) * G, c * (s1 + b));
                st(act + ((r + 2) * T + unit + o) * G, c * (s2 + b));
                st(act + ((r + 3) * T + unit + o) * G, c * (s3 + b));
            }
            for (; r < R; r++) {
                const double *A0 = act + (r * T + unitPrev) * G;
                v8 s0 = splat(0);
                for (long in = 0; in < cols; in++) s0 += ld(Wo + in * stride) * ld(A0 + in * G);
                st(act + (r * T + unit + o) * G, c * (s0 + b));
            }
        }
        if (l < L) {
            for (long r = 0; r < R; r++) {
                double *z = act + (r * T + unit) * G, *sl = slope + (r * T + unit) * G;
                if (net->activation == 0) {
                    for (long e = 0; e < rows * G; e++) sl[e] = 1;
                } else if (net->activation == 1) {
                    /* ReLU without branches: z > 0 keeps z and slope 1, else 0 and 0 (NaN too) */
                    const v8 one = splat(1);
                    for (long e = 0; e < rows * G; e += G) {
                        const v8 v = ld(z + e);
                        const v8l keep = (v8l)(v > splat(0));
                        st(z + e, (v8)((v8l)v & keep));
                        st(sl + e, (v8)((v8l)one & keep));
                    }
                } else {
                    for (long e = 0; e < rows * G; e++) { const double t = tanh(z[e]); z[e] = t; sl[e] = 1 - t * t; }
                }
            }
        }
        unitPrev = unit;
    }
    return unitPrev;
}

/* One group's gradient contributions over samples r0 ..< r0 + R: forward, δ_L, backward. */
static inline __attribute__((always_inline))
void group_chunk(const sgd_mlp_lanes_net *net, const double *theta, long stride, long base, long active,
                 const long *indices, long first, const double *weights, long r0, long R, double scale,
                 double *g, long gstride, long gbase, double *work) {
    const long L = net->layers, T = net->total_units, m = net->sizes[L];
    const double c = net->scale;
    double *act = work, *slope = work + CHUNK * T * G, *delta = work + 2 * CHUNK * T * G;
    const long *idx = (const long *)(work + 3 * CHUNK * T * G);
    const double *wt = work + 3 * CHUNK * T * G + CHUNK * G;
    const long uL = forward_chunk(net, theta, stride, base, active, indices, first, weights, r0, R, work);
    /* δ_L = w·∂ℓ/∂u: u − y (square), softmax(u) − e_y (cross-entropy, softmax by the shifted
       exponentials over their sum) */
    for (long r = 0; r < R; r++) {
        const double *u = act + (r * T + uL) * G;
        double *dL = delta + (r * T + uL) * G;
        for (long i = 0; i < G; i++) {
            const long s = idx[r * G + i];
            const double w = wt[r * G + i];
            if (net->loss == 0) {
                for (long k = 0; k < m; k++) dL[k * G + i] = w * (u[k * G + i] - net->targets[s * m + k]);
            } else {
                double top = u[i];
                for (long k = 1; k < m; k++) if (u[k * G + i] > top) top = u[k * G + i];
                /* softmax(u)_k = e^{u_k − top} / Σ_k' e^{u_k' − top} */
                double sum = 0;
                for (long k = 0; k < m; k++) { const double e = exp(u[k * G + i] - top); dL[k * G + i] = e; sum += e; }
                const double inverse = 1 / sum;
                for (long k = 0; k < m; k++) dL[k * G + i] *= inverse;
                dL[(long)net->targets[s] * G + i] -= 1;
                for (long k = 0; k < m; k++) dL[k * G + i] *= w;
            }
        }
    }
    /* backward: ∂W_l += scale·c·Σ_r δ_l a_{l−1}ᵀ, ∂b_l += scale·c·Σ_r δ_l,
       δ_{l−1} = σ'(z_{l−1}) ⊙ c·W_lᵀ δ_l */
    const v8 sc = splat(scale * c);
    long unit = uL;
    for (long l = L; l >= 1; l--) {
        const long rows = net->sizes[l], cols = net->sizes[l - 1], prevUnit = unit - cols;
        const double *W = theta + net->weight_offsets[l - 1] * stride + base;
        double *gW = g + net->weight_offsets[l - 1] * gstride + gbase;
        for (long o = 0; o < rows; o++) {
            long in = 0;
            for (; in + 4 <= cols; in += 4) {
                v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
                for (long r = 0; r < R; r++) {
                    const v8 d = ld(delta + (r * T + unit + o) * G);
                    const double *A = act + (r * T + prevUnit + in) * G;
                    s0 += d * ld(A); s1 += d * ld(A + G); s2 += d * ld(A + 2 * G); s3 += d * ld(A + 3 * G);
                }
                double *q = gW + (o * cols + in) * gstride;
                st_n(q, ld(q) + sc * s0, active);
                st_n(q + gstride, ld(q + gstride) + sc * s1, active);
                st_n(q + 2 * gstride, ld(q + 2 * gstride) + sc * s2, active);
                st_n(q + 3 * gstride, ld(q + 3 * gstride) + sc * s3, active);
            }
            for (; in < cols; in++) {
                v8 s0 = splat(0);
                for (long r = 0; r < R; r++)
                    s0 += ld(delta + (r * T + unit + o) * G) * ld(act + (r * T + prevUnit + in) * G);
                double *q = gW + (o * cols + in) * gstride;
                st_n(q, ld(q) + sc * s0, active);
            }
            if (net->bias) {
                v8 s0 = splat(0);
                for (long r = 0; r < R; r++) s0 += ld(delta + (r * T + unit + o) * G);
                double *q = g + (net->bias_offsets[l - 1] + o) * gstride + gbase;
                st_n(q, ld(q) + sc * s0, active);
            }
        }
        if (l > 1) {
            const v8 cv = splat(c);
            for (long in = 0; in < cols; in++) {
                long r = 0;
                for (; r + 4 <= R; r += 4) {
                    v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
                    const double *D0 = delta + (r * T + unit) * G, *D1 = D0 + T * G, *D2 = D1 + T * G, *D3 = D2 + T * G;
                    for (long o = 0; o < rows; o++) {
                        const v8 w = ld(W + (o * cols + in) * stride);
                        s0 += ld(D0 + o * G) * w; s1 += ld(D1 + o * G) * w;
                        s2 += ld(D2 + o * G) * w; s3 += ld(D3 + o * G) * w;
                    }
                    const long e = (r * T + prevUnit + in) * G, step = T * G;
                    st(delta + e, ld(slope + e) * (cv * s0));
                    st(delta + e + step, ld(slope + e + step) * (cv * s1));
                    st(delta + e + 2 * step, ld(slope + e + 2 * step) * (cv * s2));
                    st(delta + e + 3 * step, ld(slope + e + 3 * step) * (cv * s3));
                }
                for (; r < R; r++) {
                    v8 s0 = splat(0);
                    const double *D0 = delta + (r * T + unit) * G;
                    for (long o = 0; o < rows; o++) s0 += ld(D0 + o * G) * ld(W + (o * cols + in) * stride);
                    const long e = (r * T + prevUnit + in) * G;
                    st(delta + e, ld(slope + e) * (cv * s0));
                }
            }
        }
        unit = prevUnit;
    }
}

/* g == NULL: the step θ ← θ − step·g in place, each group's g summed in a local buffer of
   d·G doubles (zeroed first, so the same sums as into a zeroed g) and applied once the
   group's chunks are done (they read θ); no pass over a block-wide g. */
static inline __attribute__((always_inline))
void lanes_body(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                long first, const double *weights, long batch, double scale, double *g, double step, double *work) {
    const long d = net->dimension;
    double *local = work + 3L * CHUNK * net->total_units * G + 2L * CHUNK * G;
    for (long base = 0; base < count; base += G) {
        const long active = count - base < G ? count - base : G;
        if (!g) for (long e = 0; e < d * G; e++) local[e] = 0;
        for (long r0 = 0; r0 < batch; r0 += CHUNK) {
            const long R = batch - r0 < CHUNK ? batch - r0 : CHUNK;
            if (g) group_chunk(net, theta, stride, base, active, indices, first, weights, r0, R, scale, g, stride, base, work);
            else group_chunk(net, theta, stride, base, active, indices, first, weights, r0, R, scale, local, G, 0, work);
        }
        if (!g) {
            for (long j = 0; j < d; j++) {
                double *x = theta + j * stride + base;
                const double *q = local + j * G;
                for (long i = 0; i < active; i++) x[i] = x[i] - step * q[i];
            }
        }
    }
}

/* out[i] = (1/n) Σ_{s<n} ℓ_s(θ_i): each lane's sample losses summed in sample order. */
static inline __attribute__((always_inline))
void loss_body(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count, long n,
               double *out, double *work) {
    const long L = net->layers, T = net->total_units, m = net->sizes[L];
    const double *act = work;
    for (long base = 0; base < count; base += G) {
        const long active = count - base < G ? count - base : G;
        double total[G] = {0};
        for (long r0 = 0; r0 < n; r0 += CHUNK) {
            const long R = n - r0 < CHUNK ? n - r0 : CHUNK;
            const long uL = forward_chunk(net, theta, stride, base, active, NULL, 0, NULL, r0, R, work);
            for (long r = 0; r < R; r++) {
                const double *u = act + (r * T + uL) * G;
                const long sample = r0 + r;
                for (long i = 0; i < G; i++) {
                    double l;
                    if (net->loss == 0) {
                        double q = 0;
                        for (long k = 0; k < m; k++) { const double e = u[k * G + i] - net->targets[sample * m + k]; q += e * e; }
                        l = 0.5 * q;
                    } else {
                        double top = u[i];
                        for (long k = 1; k < m; k++) if (u[k * G + i] > top) top = u[k * G + i];
                        double sum = 0;
                        for (long k = 0; k < m; k++) sum += exp(u[k * G + i] - top);
                        l = top + log(sum) - u[(long)net->targets[sample] * G + i];
                    }
                    total[i] += l;
                }
            }
        }
        for (long i = 0; i < active; i++) out[base + i] = total[i] / (double)n;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void loss_avx2(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count, long n,
                      double *out, double *work) { loss_body(net, theta, stride, count, n, out, work); }
__attribute__((target("avx512f")))
static void loss_avx512(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count, long n,
                        double *out, double *work) { loss_body(net, theta, stride, count, n, out, work); }
#endif

void sgd_mlp_lanes_loss(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count, long samples,
                        double *out, double *work, long isa) {
#if defined(__x86_64__)
    if (isa == 2) { loss_avx512(net, theta, stride, count, samples, out, work); return; }
    if (isa == 1) { loss_avx2(net, theta, stride, count, samples, out, work); return; }
#endif
    loss_body(net, theta, stride, count, samples, out, work);
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void lanes_avx512(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                         long first, const double *weights, long batch, double scale, double *g, double step, double *work) {
    lanes_body(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work);
}
__attribute__((target("avx2")))
static void lanes_avx2(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                       long first, const double *weights, long batch, double scale, double *g, double step, double *work) {
    lanes_body(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work);
}
#endif
static void lanes_generic(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                          long first, const double *weights, long batch, double scale, double *g, double step, double *work) {
    lanes_body(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work);
}

/* 2 AVX-512, 1 AVX2, 0 generic: the best this CPU runs. */
long sgd_mlp_lanes_best_isa(void) {
    long l = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) l = 1;
    if (__builtin_cpu_supports("avx512f")) l = 2;
#endif
    return l;
}

static void lanes_dispatch(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                           long first, const double *weights, long batch, double scale, double *g, double step, double *work,
                           long isa) {
#if defined(__x86_64__)
    switch (isa) {
    case 2: lanes_avx512(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work); return;
    case 1: lanes_avx2(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work); return;
    default: break;
    }
#endif
    lanes_generic(net, theta, stride, count, indices, first, weights, batch, scale, g, step, work);
}

void sgd_mlp_lanes_gradient(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count,
                            const long *indices, long first, const double *weights, long batch, double scale,
                            double *g, double *work, long isa) {
    /* θ is only read when g is given */
    lanes_dispatch(net, (double *)theta, stride, count, indices, first, weights, batch, scale, g, 0, work, isa);
}

void sgd_mlp_lanes_step(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                        long first, const double *weights, long batch, double scale, double step, double *work, long isa) {
    lanes_dispatch(net, theta, stride, count, indices, first, weights, batch, scale, NULL, step, work, isa);
}
