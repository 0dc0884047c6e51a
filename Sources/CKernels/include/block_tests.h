#ifndef SGD_ESCAPE_BLOCK_TESTS_H
#define SGD_ESCAPE_BLOCK_TESTS_H

/* Tests over a block of paths in structure-of-arrays layout (coordinate j of lane i at
   x[j·stride + i]), eight lanes per SIMD vector when the stride is a multiple of 8 (one lane
   at a time otherwise, rows contiguous when the stride is 1), dispatched by instruction set
   like mlp_lanes.h (isa 2 AVX-512F, 1 AVX2, 0 generic: the same results on each). With a
   stride that is a multiple of 8, lanes count ≤ i < round-up(count, 8) are read but never
   written. */

/* outcome[i] = code for each lane i < count with some |x_j| > bound or NaN (j < rows). */
void sgd_block_mark_diverged(const double *x, long stride, long rows, long count, double bound,
                             long *outcome, long code, long isa);

/* out[i] = Σ_{j<rows} (x_j − center_j)² for lanes i < count, as eight partial sums over
   j mod 8 (each in index order) added pairwise: the same bits for every stride. */
void sgd_block_squared_distance(const double *x, long stride, long rows, long count, const double *center,
                                double *out, long isa);

/* One coordinate, one exit term (x and indicator contiguous, count lanes): outcome[i] = 0
   where indicator[i] ≠ 0, `running` otherwise, and `diverged` where |x[i]| > bound or x[i]
   is NaN, whatever else holds. Returns 1 when some lane is not running, else 0. */
long sgd_block_outcome_1d(const double *x, const double *indicator, long count, double bound, long *outcome,
                          long running, long diverged, long isa);

/* The bridge test's first pass over count lanes for a level boundary whose gradient norm is
   constant (1/‖∇g‖ = inverse_norm): the new signed distances d₁ = (−g[i])·inverse_norm
   replace dist[i] (d₀), product[i] = d₀d₁ where min(d₀, d₁) > 0 and +∞ otherwise, and the
   lanes with product[i] < cut are listed in candidates in increasing order. Returns how
   many. The same operations as the Swift loop it replaces (EulerMaruyamaStepper.bridgeTest). */
long sgd_bridge_near(const double *g, double *dist, double inverse_norm, long count, double cut, double *product,
                     long *candidates, long isa);

/* The same pass with the level computed on the way: g[i] + offset where add_offset ≠ 0 (the
   operation of a program's `addConst`), else g[i] (a `copy`), g being a coordinate row: for
   a level boundary that is a coordinate plane, without evaluating the level program. Only
   the listed lanes' products are written (the others are not read by that route). */
long sgd_bridge_near_offset(const double *g, double offset, long add_offset, double *dist, double inverse_norm,
                            long count, double cut, double *product, long *candidates, long isa);

/* The 2-D Euler–Maruyama update with noise √v·S ξ, S the symmetric root of A = c·H (H the 2×2
   rows hess[k·stride + i], k = 0…3 row-major), for the lanes where A is positive definite
   (det > 0 and trace > 0): S = (A + √det·I)/√(tr + 2√det) with b = (a₁₂ + a₂₁)/2 off the
   diagonal, S's four entries to factor[4i…], then n = (0 + S₁₁ξ₁) + S₁₂ξ₂ (likewise n₂) and
   x_k ← (x_k − h·g_k) + root·n_k — SymmetricSquareRoot.root2's positive-definite branch
   and EulerMaruyamaStepper's loop, operation for operation, eight lanes per vector. The other
   lanes are untouched and listed in `others` (increasing); returns how many. */
long sgd_hessian2_step(const double *hess, long stride, double c, const double *z, const double *gradient, double *x,
                       double h, double root, double *factor, long count, long *others, long isa);

#endif
