/* A compiled step kernel's body (include/fused_steps.h): Euler–Maruyama steps with additive
   Gaussian noise or the 1-D Hessian law, and the exit test, with the landscape's gradient
   (and Hessian) program and the exit test's indicator program compiled in. Not compiled with the package: the engine writes a
   short C file per problem (Diffusion/Integrators/CompiledStepKernel.swift) that defines

     SGD_FUSED_D, SGD_FUSED_TERMS     the dimension d and the number of exit terms,
     SGD_FUSED_BRIDGE                 1 for the bridge test on a coordinate plane, 2 on several
                                      level boundaries with constant gradient norms, else 0,
     SGD_FUSED_BRIDGE_ROW, _OFFSET    (1) the plane's coordinate, and 1 where its level adds an offset,
     SGD_FUSED_LEVELS, _CONSTANTS     (2) the number of boundaries, the levels program's length
                                      and fused_levels(X, L, M),
     SGD_FUSED_HESSIAN                0 additive noise; 1 (d = 1) the Hessian law, with
     SGD_FUSED_ABSOLUTE               1 for |V″|, 0 for its positive part, and
     SGD_FUSED_HESSIAN_CONSTANTS      its program's length, and fused_hessian(X, H, M),
     SGD_FUSED_GRADIENT_CONSTANTS,    the programs' lengths (their immediates M[k], one per
     SGD_FUSED_INDICATOR_CONSTANTS    instruction, are passed at call time),
     SGD_FUSED_TARGET                 the instruction set's function attribute,
     fused_gradient(X, G, M)          ∇V of one group: X[j], G[j] for j < d (eight lanes each),
     fused_indicators(X, I, M)        the exit terms' indicators I[t] of one group,

   each program's instructions as straight-line vector code (fused_vector_ops.h: the block
   evaluator's operations lane for lane), then includes this file, and builds it with the
   package's flags (-O3 -ffp-contract=off -fno-fast-math): every operation is rounded as
   written, so a kernel's results are the stepper's bits (the tests compare them).

   One step is, in the stepper's order: ∇V at the step's start; row by row, each group's
   normals from the lane streams (slot i from lane i mod 8) and x ← (x − h·∇V) + s·ξ for the
   lanes below count (the Hessian law: each live lane's normal from the scalar stream in
   lane order, S = √max(c·V″, 0) or √|c·V″| (SymmetricSquareRoot.root1) and
   x ← (x − h·V′) + root·(0 + S·ξ), EulerMaruyamaStepper.advance's d = 1 loop); the
   indicators and the divergence check at the new state; then (bridge) the new distances to
   the plane and, in increasing lane order, a uniform from the scalar
   stream for each running lane with d₀d₁ < cut (EulerMaruyamaStepper.bridgeTest's route for a
   coordinate plane). With d = 1 the three passes run group by group (each lane's values
   depend on that lane alone, and the draws keep their order). Steps repeat until some lane
   is not running or max_steps are taken; the outcomes of that last step are then written. */
#include "fused_vector_ops.h"
#include "../include/fused_steps.h"

/* EulerMaruyamaStepper.below: u < exp(e) (e ≤ 0), exp evaluated only where the series
   bounds cannot decide; the same operations, so the same decisions. */
static inline __attribute__((always_inline)) int bridge_below(double u, double e) {
    const double a = -e;
    const double series = 1 + a * (1 + a * (0.5 + a * (1.0 / 6 + a * (1.0 / 24 + a * (1.0 / 120 + a * (1.0 / 720))))));
    if (u >= (1 / series) * (1 + 1e-14)) return 0;
    if (a < 1) {
        const double lower = 1 - a * (1 - a * (0.5 - a * (1.0 / 6 - a * (1.0 / 24 - a * (1.0 / 120 - a * (1.0 / 720 - a / 5040))))));
        if (u < lower - 1e-14) return 1;
    }
    return u < exp(e);
}

/* The scalar stream's taus2 state, in three locals (a local array whose address reaches
   the out-of-line slow path would live in memory, and each draw would wait on a store) */
typedef struct { uint32_t s1, s2, s3; } scalar_taus2;

static inline __attribute__((always_inline)) uint32_t scalar_next(scalar_taus2 *r) {
    r->s1 = ((r->s1 & 0xFFFFFFFEu) << 12) ^ (((r->s1 << 13) ^ r->s1) >> 19);
    r->s2 = ((r->s2 & 0xFFFFFFF8u) << 4) ^ (((r->s2 << 2) ^ r->s2) >> 25);
    r->s3 = ((r->s3 & 0xFFFFFFF0u) << 17) ^ (((r->s3 << 3) ^ r->s3) >> 11);
    return r->s1 ^ r->s2 ^ r->s3;
}

/* InlineZiggurat.normal: one GSL ziggurat normal from the scalar stream */
static inline __attribute__((always_inline)) double scalar_normal(scalar_taus2 *r, const sgd_ziggurat_tables *t) {
    const uint32_t u = scalar_next(r);
    const uint32_t i = u & 0x7Fu, j = (u >> 8) & 0xFFFFFFu;
    if (__builtin_expect(j < t->k[i], 1)) return with_sign((double)j * t->w[i], u);
    uint32_t st[3] = { r->s1, r->s2, r->s3 };
    const double v = slow_lane(u, st, t);
    r->s1 = st[0]; r->s2 = st[1]; r->s3 = st[2];
    return v;
}

/* Taus2State.uniformPositive: taus2 words until one is non-zero, scaled by 2⁻³² */
static inline __attribute__((always_inline)) double uniform_positive(scalar_taus2 *r) {
    for (;;) {
        const uint32_t k = scalar_next(r);
        if (k != 0) return (double)k * (1.0 / 4294967296.0);
    }
}

/* The lanes of one group (live of them) that are not running at their state X: some
   indicator non-zero (NaN included), or some |x_j| > bound or NaN. */
static inline __attribute__((always_inline)) q8 finished8(const d8 *X, const d8 *I, d8 bound, long live) {
    q8 done = { 0 };
    for (int t = 0; t < SGD_FUSED_TERMS; t++) done |= (q8)(I[t] != splat8(0));
    const q8 magnitude = (q8){ 0 } + 0x7FFFFFFFFFFFFFFFull;
    for (int j = 0; j < SGD_FUSED_D; j++) done |= ~(q8)((d8)((q8)X[j] & magnitude) <= bound);
    return done & live8(live);
}

/* A kernel's working state: the lane streams, the scalar stream, the call's constants (locals,
   so that stores to x cannot alias them) and the step's stop mask. */
typedef struct {
    u8x s1, s2, s3;
    scalar_taus2 scalar;
    const sgd_ziggurat_tables *t;
    double *x, *gradient, *dist;
    long w;
    double h, s, scale;
    long term;
    d8 bound, offset, inverse, cut;
    /* the programs' immediates in every lane (local: no store to x can alias them) */
    d8 GM[SGD_FUSED_GRADIENT_CONSTANTS + 1], IM[SGD_FUSED_INDICATOR_CONSTANTS + 1];
#if SGD_FUSED_HESSIAN
    d8 HM[SGD_FUSED_HESSIAN_CONSTANTS + 1];
    double c, root;
#endif
    q8 stop;
    /* per lane: 1 + the exit term its bridge crossed in the last step, else 0 */
    long *crossed;
    long any_crossed;
#if SGD_FUSED_BRIDGE == 2
    d8 LM[SGD_FUSED_LEVEL_CONSTANTS + 1];
    const double *inverse_norms;
    const long *level_terms;
    double *levels;
    /* each group's lanes that are not running after the exit test (and earlier boundaries) */
    q8 done[8];
#endif
} fused_state;

/* The uniforms of the lanes in `draw` (running, near a boundary) of group g, in lane order
   (branch-free decisions: whether a bridge crossed is random); a lane that crossed records
   1 + term. Returns the lanes that crossed. */
static inline __attribute__((always_inline)) unsigned bridge_draws(fused_state *S, long g, q8 draw, d8 p, long term) {
    unsigned bits = 0, crossed = 0;
    for (int l = 0; l < 8; l++) bits |= (unsigned)(draw[l] & 1u) << l;
    while (bits) {
        const int l = __builtin_ctz(bits);
        bits &= bits - 1;
        const long cross = bridge_below(uniform_positive(&S->scalar), S->scale * p[l]);
        S->crossed[8 * g + l] = cross ? 1 + term : S->crossed[8 * g + l];
        crossed |= (unsigned)cross << l;
    }
    S->any_crossed |= crossed != 0;
    return crossed;
}

/* The exit test of group g (live lanes) at its new state X: stop where a lane is not
   running; then (bridge) the new distances and the near lanes' uniforms, in lane order. */
static inline __attribute__((always_inline)) void group_exit(fused_state *S, const d8 *X, long g, long live) {
    d8 I[SGD_FUSED_TERMS > 0 ? SGD_FUSED_TERMS : 1];
    fused_indicators(X, I, S->IM);
    const q8 done = finished8(X, I, S->bound, live);
    S->stop |= done;
#if SGD_FUSED_BRIDGE == 2
    S->done[g] = done;
#endif
#if SGD_FUSED_BRIDGE == 1
#if SGD_FUSED_BRIDGE_OFFSET
    const d8 gv = X[SGD_FUSED_BRIDGE_ROW] + S->offset;
#else
    const d8 gv = X[SGD_FUSED_BRIDGE_ROW];
#endif
    const d8 d1 = -gv * S->inverse, d0 = ld8(S->dist + 8 * g);
    if (live >= 8) st8(S->dist + 8 * g, d1);
    else for (long l = 0; l < live; l++) S->dist[8 * g + l] = d1[l];
    /* min(d₀, d₁) > 0 (the pass's select; false when either is NaN) as d₀ > 0 and d₁ > 0,
       then d₀d₁ < cut: the same lanes, with the same products */
    const d8 zero = splat8(0), p = d0 * d1;
    const q8 near = (q8)(d0 > zero) & (q8)(d1 > zero) & (q8)(p < S->cut) & live8(live);
    const q8 draw = near & ~done;  /* the running lanes among them draw, in lane order */
    if (__builtin_expect(any8(draw), 0)) bridge_draws(S, g, draw, p, S->term);
#endif
}

#if SGD_FUSED_BRIDGE == 2
/* The bridge test on several boundaries, after every group's exit test: the levels of every
   group, then boundary by boundary, group by group, the new distances and the near running
   lanes' uniforms in lane order (a lane that crosses one boundary is no longer running for
   the next) — EulerMaruyamaStepper.bridgeTest's route for constant gradient norms. */
static inline __attribute__((always_inline)) void levels_bridge(fused_state *S, long full, long rest) {
    const long w = S->w, groups = full + (rest ? 1 : 0);
    for (long g = 0; g < groups; g++) {
        d8 X[SGD_FUSED_D], L[SGD_FUSED_LEVELS];
        for (int j = 0; j < SGD_FUSED_D; j++) X[j] = ld8(S->x + j * w + 8 * g);
        fused_levels(X, L, S->LM);
        for (int l = 0; l < SGD_FUSED_LEVELS; l++) st8(S->levels + l * w + 8 * g, L[l]);
    }
    const d8 zero = splat8(0);
    for (int b = 0; b < SGD_FUSED_LEVELS; b++) {
        const d8 inverse = splat8(S->inverse_norms[b]);
        double *dist = S->dist + b * w;
        for (long g = 0; g < groups; g++) {
            const long live = g < full ? 8 : rest;
            const d8 d1 = -ld8(S->levels + b * w + 8 * g) * inverse, d0 = ld8(dist + 8 * g);
            if (live >= 8) st8(dist + 8 * g, d1);
            else for (long l = 0; l < live; l++) dist[8 * g + l] = d1[l];
            const d8 p = d0 * d1;
            const q8 near = (q8)(d0 > zero) & (q8)(d1 > zero) & (q8)(p < S->cut) & live8(live);
            const q8 draw = near & ~S->done[g];
            if (__builtin_expect(any8(draw), 0)) {
                const unsigned crossed = bridge_draws(S, g, draw, p, S->level_terms[b]);
                for (int l = 0; l < 8; l++) if (crossed >> l & 1u) S->done[g][l] = ~0ull;  /* not running for the next */
            }
        }
    }
}
#endif

/* One row j of group g (live lanes): the group's normals, x ← (x − h·∇V) + s·ξ; the new row. */
static inline __attribute__((always_inline)) d8 group_update(fused_state *S, double *xg, d8 x, d8 gradient, long live) {
    const d8 z = draw_group(&S->s1, &S->s2, &S->s3, S->t);
    const d8 y = (x - S->h * gradient) + S->s * z;
    if (live >= 8) st8(xg, y);
    else for (long l = 0; l < live; l++) xg[l] = y[l];
    return y;
}

#if SGD_FUSED_D == 1
/* d = 1: group g's gradient, update and exit test in one go */
static inline __attribute__((always_inline)) void group_step(fused_state *S, long g, long live) {
    double *xg = S->x + 8 * g;
    d8 X[1], G[1];
    X[0] = ld8(xg);
    fused_gradient(X, G, S->GM);
#if SGD_FUSED_HESSIAN
    /* the live lanes' normals from the scalar stream, in lane order; S = √max(c·V″, 0) or
       √|c·V″| (Swift's max(a, 0) is 0 >= a ? 0 : a), noise 0 + S·ξ, then the update */
    d8 H[1], z = splat8(0);
    fused_hessian(X, H, S->HM);
    for (long l = 0; l < 8 && l < live; l++) z[l] = scalar_normal(&S->scalar, S->t);
    const d8 a = S->c * H[0];
#if SGD_FUSED_ABSOLUTE
    const d8 r = (d8)((q8)a & ((q8){ 0 } + 0x7FFFFFFFFFFFFFFFull));
#else
    const d8 r = pick8((q8)(splat8(0) >= a), splat8(0), a);
#endif
    const d8 factor = __builtin_elementwise_sqrt(r);  /* IEEE square roots, lane by lane */
    const d8 y = (X[0] - S->h * G[0]) + S->root * (splat8(0) + factor * z);
    if (live >= 8) st8(xg, y);
    else for (long l = 0; l < live; l++) xg[l] = y[l];
    X[0] = y;
#else
    X[0] = group_update(S, xg, X[0], G[0], live);
#endif
    group_exit(S, X, g, live);
}
#endif

/* the body, generic and always inlined into the entry point below, which carries the
   instruction set (as the package's kernels: vectors never cross a call between targets) */
static inline __attribute__((always_inline)) long fused_steps_body(const sgd_fused_args *A) {
    const long n = A->count, full = n / 8, rest = n % 8, groups = (n + 7) / 8;
    long crossed[64] = { 0 };
    fused_state S = {
        .scalar = { A->scalar[0], A->scalar[1], A->scalar[2] },
        .t = A->tables, .x = A->x, .gradient = A->gradient, .dist = A->distance, .w = A->width,
        .h = A->h, .s = A->s, .scale = A->scale, .term = A->term,
        .bound = splat8(A->bound), .offset = splat8(A->offset), .inverse = splat8(A->inverse_norm), .cut = splat8(A->cut),
        .stop = { 0 }, .crossed = crossed, .any_crossed = 0,
    };
#if !SGD_FUSED_HESSIAN
    S.s1 = *(const u8xu *)A->s1; S.s2 = *(const u8xu *)A->s2; S.s3 = *(const u8xu *)A->s3;
#endif
    for (int k = 0; k < SGD_FUSED_GRADIENT_CONSTANTS; k++) S.GM[k] = splat8(A->gradient_immediates[k]);
    for (int k = 0; k < SGD_FUSED_INDICATOR_CONSTANTS; k++) S.IM[k] = splat8(A->indicator_immediates[k]);
#if SGD_FUSED_BRIDGE == 2
    for (int k = 0; k < SGD_FUSED_LEVEL_CONSTANTS; k++) S.LM[k] = splat8(A->level_immediates[k]);
    S.inverse_norms = A->inverse_norms;
    S.level_terms = A->level_terms;
    S.levels = A->levels;
#endif
#if SGD_FUSED_HESSIAN
    for (int k = 0; k < SGD_FUSED_HESSIAN_CONSTANTS; k++) S.HM[k] = splat8(A->hessian_immediates[k]);
    S.c = A->c;
    S.root = A->root;
#endif
    const long w = S.w;
    double *x = S.x;
    long steps = 0;
    for (;;) {
        S.stop = (q8){ 0 };
#if SGD_FUSED_D == 1
        for (long g = 0; g < full; g++) group_step(&S, g, 8);
        if (rest) group_step(&S, full, rest);
#else
        /* ∇V at the step's start, every group, before any row moves */
        for (long g = 0; g < groups; g++) {
            d8 X[SGD_FUSED_D], G[SGD_FUSED_D];
            for (int j = 0; j < SGD_FUSED_D; j++) X[j] = ld8(x + j * w + 8 * g);
            fused_gradient(X, G, S.GM);
            for (int j = 0; j < SGD_FUSED_D; j++) st8(S.gradient + j * w + 8 * g, G[j]);
        }
        /* row by row, group by group: the lane streams' order */
        for (int j = 0; j < SGD_FUSED_D; j++) {
            double *xr = x + j * w, *gr = S.gradient + j * w;
            for (long g = 0; g < full; g++) group_update(&S, xr + 8 * g, ld8(xr + 8 * g), ld8(gr + 8 * g), 8);
            if (rest) group_update(&S, xr + 8 * full, ld8(xr + 8 * full), ld8(gr + 8 * full), rest);
        }
        for (long g = 0; g < groups; g++) {
            d8 X[SGD_FUSED_D];
            for (int j = 0; j < SGD_FUSED_D; j++) X[j] = ld8(x + j * w + 8 * g);
            group_exit(&S, X, g, g < full ? 8 : rest);
        }
#endif
#if SGD_FUSED_BRIDGE == 2
        levels_bridge(&S, full, rest);
#endif
        steps++;
        if (any8(S.stop) | S.any_crossed || steps >= A->max_steps) break;
    }
    /* the last step's outcomes: the first term that holds, divergence over it, the bridge */
    for (long g = 0; g < groups; g++) {
        const long live = n - 8 * g;
        d8 X[SGD_FUSED_D];
        for (int j = 0; j < SGD_FUSED_D; j++) X[j] = ld8(x + j * w + 8 * g);
        d8 I[SGD_FUSED_TERMS > 0 ? SGD_FUSED_TERMS : 1];
        fused_indicators(X, I, S.IM);
        const q8 magnitude = (q8){ 0 } + 0x7FFFFFFFFFFFFFFFull;
        q8 bad = { 0 };
        for (int j = 0; j < SGD_FUSED_D; j++) bad |= ~(q8)((d8)((q8)X[j] & magnitude) <= S.bound);
        for (long l = 0; l < live && l < 8; l++) {
            long o = A->running;
            for (int k = SGD_FUSED_TERMS - 1; k >= 0; k--) if (I[k][l] != 0) o = k;
            if (bad[l]) o = A->diverged;
            if (crossed[8 * g + l]) o = crossed[8 * g + l] - 1;
            A->outcome[8 * g + l] = o;
        }
    }
#if !SGD_FUSED_HESSIAN
    *(u8xu *)A->s1 = S.s1; *(u8xu *)A->s2 = S.s2; *(u8xu *)A->s3 = S.s3;
#endif
    A->scalar[0] = S.scalar.s1; A->scalar[1] = S.scalar.s2; A->scalar[2] = S.scalar.s3;
    return steps;
}

SGD_FUSED_TARGET long sgd_fused_steps(const sgd_fused_args *A) { return fused_steps_body(A); }
