/* Eight-lane vector helpers of the compiled step kernels (see fused_steps_template.h): the
   operations of the block evaluator (program_eval.c) on one group of eight lanes, each
   lane rounded exactly as the evaluator rounds it. */
#ifndef SGD_ESCAPE_FUSED_VECTOR_OPS_H
#define SGD_ESCAPE_FUSED_VECTOR_OPS_H

#include "ziggurat_lanes.h"
#include "expression_ops.h"

static inline __attribute__((always_inline)) d8 ld8(const double *p) { return *(const d8u *)p; }
static inline __attribute__((always_inline)) void st8(double *p, d8 v) { *(d8u *)p = v; }
static inline __attribute__((always_inline)) d8 splat8(double v) { return (d8){ v, v, v, v, v, v, v, v }; }
/* m ? a : b lane by lane (m all ones or all zeros per lane) */
static inline __attribute__((always_inline)) d8 pick8(q8 m, d8 a, d8 b) { return (d8)(((q8)a & m) | ((q8)b & ~m)); }
/* 1.0 where m holds, +0.0 elsewhere */
static inline __attribute__((always_inline)) d8 truth8(q8 m) { return (d8)(m & (q8)splat8(1.0)); }
/* all ones in lanes 0 ..< live (live ≥ 8: every lane) */
static inline __attribute__((always_inline)) q8 live8(long live) {
    const q8 index = { 0, 1, 2, 3, 4, 5, 6, 7 };
    return (q8)(index < (q8){ 0 } + (uint64_t)live);
}
static inline __attribute__((always_inline)) int any8(q8 m) {
    uint64_t a = 0;
    for (int l = 0; l < 8; l++) a |= m[l];
    return a != 0;
}

#endif
