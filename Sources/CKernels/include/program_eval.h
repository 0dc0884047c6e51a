#ifndef SGD_ESCAPE_PROGRAM_EVAL_H
#define SGD_ESCAPE_PROGRAM_EVAL_H

#include <stdint.h>

/* The block evaluator of CompiledProgram (Expressions/CompiledProgram.swift): each
   instruction is one pass over `count` points of a structure-of-arrays block (rows `stride`
   apart). Slots are encoded kind·2³² + row, kind 0 the caller's inputs, 1 its workspace, 2
   its outputs. Every operation is ExpressionMath's (Expressions/Expression.swift), operation
   for operation (compiled with -ffp-contract=off; exp, log, sin, cos, tanh and pow are the
   C library's, as Foundation's are), so the results are the reference evaluator's bits; the
   expression tests compare them. isa as in mlp_lanes.h. */
enum {
    SGD_OP_LOAD_CONST, SGD_OP_COPY, SGD_OP_ADD, SGD_OP_SUB, SGD_OP_MUL, SGD_OP_DIV, SGD_OP_NEG,
    SGD_OP_MUL_CONST, SGD_OP_ADD_CONST, SGD_OP_CONST_SUBTRACT, SGD_OP_DIV_CONST_BY, SGD_OP_DIV_BY_CONST,
    SGD_OP_SQUARE, SGD_OP_CUBE, SGD_OP_POW_INT, SGD_OP_POW_REAL, SGD_OP_EXP, SGD_OP_LOG, SGD_OP_SQRT,
    SGD_OP_SIN, SGD_OP_COS, SGD_OP_TANH, SGD_OP_ABS, SGD_OP_SIGN, SGD_OP_MIN, SGD_OP_MAX, SGD_OP_SELECT,
    SGD_OP_LT, SGD_OP_LE, SGD_OP_GT, SGD_OP_GE, SGD_OP_EQ, SGD_OP_NE, SGD_OP_AND, SGD_OP_OR, SGD_OP_NOT
};

typedef struct {
    int64_t op;
    /* the integer exponent of SGD_OP_POW_INT */
    int64_t n;
    int64_t d, a, b, c;
    /* the immediate of the *_CONST ops and LOAD_CONST, and of a comparison whose b is −1
       (its right operand a constant: a < imm, a <= imm, ...) */
    double imm;
} sgd_program_instruction;

/* Largest |n| for which x^b uses binary exponentiation (ExpressionMath.maxIntegerPower). */
#define SGD_MAX_INTEGER_POWER 64

void sgd_program_evaluate(const sgd_program_instruction *code, long length, long count, long stride,
                          const double *inputs, double *outputs, double *workspace, long isa);

#endif
