/* See include/program_eval.h. Compiled with -ffp-contract=off -fno-fast-math (Package.swift). */
#include "program_eval.h"
#include "shared/expression_ops.h"
#include <math.h>
#include <string.h>

typedef double v4 __attribute__((vector_size(32)));
typedef double v4u __attribute__((vector_size(32), aligned(8)));
typedef long v4l __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v4 ld(const double *p) { return *(const v4u *)p; }
static inline __attribute__((always_inline)) void st(double *p, v4 v) { *(v4u *)p = v; }
static inline __attribute__((always_inline)) v4 splat(double x) { return (v4){x, x, x, x}; }
static inline __attribute__((always_inline)) v4 pick(v4l m, v4 a, v4 b) { return (v4)(((v4l)a & m) | ((v4l)b & ~m)); }
static inline __attribute__((always_inline)) v4 truth(v4l m) { return (v4)(m & (v4l)splat(1.0)); }

/* one pass of `expr` over lanes, four at a time (whole rows never partially overlap, and
   each group is read before it is written, so a destination equal to an operand is fine),
   then the rest one by one with `scalar` */
#define PASS(vector, scalar) do { \
    long i = 0; \
    for (; i + 4 <= n; i += 4) { vector; } \
    for (; i < n; i++) { scalar; } \
} while (0)
#define EACH(scalar) do { for (long i = 0; i < n; i++) { scalar; } } while (0)

static inline __attribute__((always_inline))
void evaluate_body(const sgd_program_instruction *code, long length, long n, long stride,
                   const double *inputs, double *outputs, double *workspace) {
    double *bases[3] = { (double *)inputs, workspace, outputs };
#define ROW(slot) (bases[(slot) >> 32] + ((slot) & 0xFFFFFFFFL) * stride)
    for (long k = 0; k < length; k++) {
        const sgd_program_instruction *ins = code + k;
        double *d = ROW(ins->d);
        const double *a = ins->a >= 0 ? ROW(ins->a) : 0;
        const double *b = ins->b >= 0 ? ROW(ins->b) : 0;
        const double *c = ins->c >= 0 ? ROW(ins->c) : 0;
        const double m = ins->imm;
        const v4 mv = splat(m), zero = splat(0);
        switch (ins->op) {
        case SGD_OP_LOAD_CONST: PASS(st(d + i, mv), d[i] = m); break;
        case SGD_OP_COPY: memmove(d, a, (size_t)n * sizeof(double)); break;
        case SGD_OP_ADD: PASS(st(d + i, ld(a + i) + ld(b + i)), d[i] = a[i] + b[i]); break;
        case SGD_OP_SUB: PASS(st(d + i, ld(a + i) - ld(b + i)), d[i] = a[i] - b[i]); break;
        case SGD_OP_MUL: PASS(st(d + i, ld(a + i) * ld(b + i)), d[i] = a[i] * b[i]); break;
        case SGD_OP_DIV: PASS(st(d + i, ld(a + i) / ld(b + i)), d[i] = a[i] / b[i]); break;
        case SGD_OP_NEG: PASS(st(d + i, -ld(a + i)), d[i] = -a[i]); break;
        case SGD_OP_MUL_CONST: PASS(st(d + i, ld(a + i) * mv), d[i] = a[i] * m); break;
        case SGD_OP_ADD_CONST: PASS(st(d + i, ld(a + i) + mv), d[i] = a[i] + m); break;
        case SGD_OP_CONST_SUBTRACT: PASS(st(d + i, mv - ld(a + i)), d[i] = m - a[i]); break;
        case SGD_OP_DIV_CONST_BY: PASS(st(d + i, mv / ld(a + i)), d[i] = m / a[i]); break;
        case SGD_OP_DIV_BY_CONST: PASS(st(d + i, ld(a + i) / mv), d[i] = a[i] / m); break;
        case SGD_OP_SQUARE: PASS({ const v4 x = ld(a + i); st(d + i, x * x); }, d[i] = a[i] * a[i]); break;
        case SGD_OP_CUBE: PASS({ const v4 x = ld(a + i); st(d + i, x * (x * x)); }, d[i] = a[i] * (a[i] * a[i])); break;
        case SGD_OP_POW_INT: EACH(d[i] = powi(a[i], ins->n)); break;
        case SGD_OP_POW_REAL: EACH(d[i] = pow_real(a[i], b[i])); break;
        case SGD_OP_EXP: EACH(d[i] = exp(a[i])); break;
        case SGD_OP_LOG: EACH(d[i] = log(a[i])); break;
        case SGD_OP_SQRT: EACH(d[i] = sqrt(a[i])); break;
        case SGD_OP_SIN: EACH(d[i] = sin(a[i])); break;
        case SGD_OP_COS: EACH(d[i] = cos(a[i])); break;
        case SGD_OP_TANH: EACH(d[i] = tanh(a[i])); break;
        case SGD_OP_ABS: EACH(d[i] = fabs(a[i])); break;
        case SGD_OP_SIGN: EACH(d[i] = sign_of(a[i])); break;
        case SGD_OP_MIN: PASS({ const v4 x = ld(a + i); const v4 y = ld(b + i); st(d + i, pick(x < y, x, y)); },
                              d[i] = a[i] < b[i] ? a[i] : b[i]); break;
        case SGD_OP_MAX: PASS({ const v4 x = ld(a + i); const v4 y = ld(b + i); st(d + i, pick(x > y, x, y)); },
                              d[i] = a[i] > b[i] ? a[i] : b[i]); break;
        case SGD_OP_SELECT: PASS(st(d + i, pick(ld(a + i) != zero, ld(b + i), ld(c + i))),
                                 d[i] = a[i] != 0 ? b[i] : c[i]); break;
        case SGD_OP_LT:
            if (b) PASS(st(d + i, truth(ld(a + i) < ld(b + i))), d[i] = a[i] < b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) < mv)), d[i] = a[i] < m ? 1.0 : 0.0);
            break;
        case SGD_OP_LE:
            if (b) PASS(st(d + i, truth(ld(a + i) <= ld(b + i))), d[i] = a[i] <= b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) <= mv)), d[i] = a[i] <= m ? 1.0 : 0.0);
            break;
        case SGD_OP_GT:
            if (b) PASS(st(d + i, truth(ld(a + i) > ld(b + i))), d[i] = a[i] > b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) > mv)), d[i] = a[i] > m ? 1.0 : 0.0);
            break;
        case SGD_OP_GE:
            if (b) PASS(st(d + i, truth(ld(a + i) >= ld(b + i))), d[i] = a[i] >= b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) >= mv)), d[i] = a[i] >= m ? 1.0 : 0.0);
            break;
        case SGD_OP_EQ:
            if (b) PASS(st(d + i, truth(ld(a + i) == ld(b + i))), d[i] = a[i] == b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) == mv)), d[i] = a[i] == m ? 1.0 : 0.0);
            break;
        case SGD_OP_NE:
            if (b) PASS(st(d + i, truth(ld(a + i) != ld(b + i))), d[i] = a[i] != b[i] ? 1.0 : 0.0);
            else PASS(st(d + i, truth(ld(a + i) != mv)), d[i] = a[i] != m ? 1.0 : 0.0);
            break;
        case SGD_OP_AND: PASS(st(d + i, truth((ld(a + i) != zero) & (ld(b + i) != zero))),
                              d[i] = (a[i] != 0) && (b[i] != 0) ? 1.0 : 0.0); break;
        case SGD_OP_OR: PASS(st(d + i, truth((ld(a + i) != zero) | (ld(b + i) != zero))),
                             d[i] = (a[i] != 0) || (b[i] != 0) ? 1.0 : 0.0); break;
        case SGD_OP_NOT: PASS(st(d + i, truth(ld(a + i) == zero)), d[i] = a[i] == 0 ? 1.0 : 0.0); break;
        default: break;
        }
    }
#undef ROW
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void evaluate512(const sgd_program_instruction *c, long l, long n, long s, const double *in, double *out, double *w) { evaluate_body(c, l, n, s, in, out, w); }
__attribute__((target("avx2"))) static void evaluate256(const sgd_program_instruction *c, long l, long n, long s, const double *in, double *out, double *w) { evaluate_body(c, l, n, s, in, out, w); }
#endif

void sgd_program_evaluate(const sgd_program_instruction *code, long length, long count, long stride,
                          const double *inputs, double *outputs, double *workspace, long isa) {
#if defined(__x86_64__)
    if (isa == 2) { evaluate512(code, length, count, stride, inputs, outputs, workspace); return; }
    if (isa == 1) { evaluate256(code, length, count, stride, inputs, outputs, workspace); return; }
#endif
    evaluate_body(code, length, count, stride, inputs, outputs, workspace);
}
