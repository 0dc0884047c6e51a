#ifndef SGD_ESCAPE_FUSED_STEPS_H
#define SGD_ESCAPE_FUSED_STEPS_H

#include <stdint.h>
#include "normal_lanes.h"

/* The arguments of a compiled step kernel (Diffusion/Integrators/CompiledStepKernel.swift,
   built at run time from shared/fused_steps_template.h): Euler–Maruyama steps of a block of
   paths, then the exit test, repeated until some lane is not running or `max_steps` steps are
   taken — the same draws, operations and outcomes as that many calls of
   EulerMaruyamaStepper.step. The noise is additive, x ← (x − h·∇V(x)) + s·ξ with ξ from the
   eight SIMD lane streams (row by row, slot i from lane i mod 8), or, in one dimension, the
   Hessian law x ← (x − h·V′(x)) + root·(0 + S·ξ) with S = √(c·V″(x))'s closed form
   (SymmetricSquareRoot.root1) and ξ from the scalar stream, lane by lane. Block layout as in
   block_tests.h (coordinate j of lane i at x[j·width + i]; width a multiple of 8, at most 64). */
typedef struct {
    /* the lane streams' states (eight words each), updated */
    uint32_t *s1, *s2, *s3;
    /* the scalar stream's taus2 state (three words: the bridge's uniforms, the Hessian law's
       normals), updated */
    uint32_t *scalar;
    const sgd_ziggurat_tables *tables;
    double *x;
    long width, count;
    /* width·d doubles: ∇V of the last step (d > 1) */
    double *gradient;
    /* the programs' immediates (CompiledProgram's constants, in instruction order) */
    const double *gradient_immediates, *indicator_immediates, *hessian_immediates;
    /* s: the additive noise's scale; c, root: the Hessian law's scale c and √variance */
    double h, s, bound, c, root;
    /* outcome[i] for i < count after the last step: the first exit term that holds, else
       `running`; `diverged` where some |x_j| > bound or NaN; the bridge's term where its
       uniform says the bridge crossed */
    long *outcome;
    long running, diverged;
    /* the bridge test (kernels built with it only): one level boundary, the coordinate plane
       g = x_row (+ offset; the row, and whether the offset is added, are built into the
       kernel), signed distances −g·inverse_norm in distance[i] (updated every step), a
       uniform drawn for the lanes with d₀d₁ < cut that are running, the crossing when it
       lies below exp(scale·d₀d₁), outcome `term` */
    double *distance;
    double offset, inverse_norm, cut, scale;
    long term;
    /* the bridge test on several level boundaries with constant gradient norms (kernels built
       for it): level l's values from the compiled levels program into levels[l·width + i],
       its distances −g·inverse_norms[l] in distance[l·width + i], its outcome level_terms[l];
       the boundaries tested one after another, each in lane order, as the stepper does */
    const double *inverse_norms, *level_immediates;
    const long *level_terms;
    double *levels;
    long max_steps;
} sgd_fused_args;

/* Returns the number of steps taken (1 … max_steps; max_steps ≥ 1). */
typedef long (*sgd_fused_steps_function)(const sgd_fused_args *arguments);

#endif
