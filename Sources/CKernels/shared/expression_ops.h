/* ExpressionMath's scalar operations (Diffusion/Expressions/Expression.swift) in C, shared by
   the block evaluator (program_eval.c) and the compiled step kernels
   (Diffusion/Integrators/CompiledStepKernel.swift), so both round every operation alike. */
#ifndef SGD_ESCAPE_EXPRESSION_OPS_H
#define SGD_ESCAPE_EXPRESSION_OPS_H

#include "../include/program_eval.h"
#include <math.h>

/* ExpressionMath.powi: the product of x^(2^k) over the set bits of |n|, low bits first */
static inline __attribute__((unused)) double powi(double x, long n) {
    unsigned long m = n < 0 ? -(unsigned long)n : (unsigned long)n;
    double base = x, result = 1.0;
    while (m > 0) {
        if (m & 1) result *= base;
        m >>= 1;
        if (m > 0) base *= base;
    }
    return n < 0 ? 1.0 / result : result;
}

/* ExpressionMath.pow: powi for small integer exponents, else the C library's pow */
static inline __attribute__((unused)) double pow_real(double a, double b) {
    if (b == trunc(b) && fabs(b) <= (double)SGD_MAX_INTEGER_POWER) return powi(a, (long)b);
    return pow(a, b);
}

static inline __attribute__((unused)) double sign_of(double x) { return (x > 0 ? 1.0 : 0.0) - (x < 0 ? 1.0 : 0.0); }

#endif
