#ifndef SGD_ESCAPE_NORMAL_LANES_H
#define SGD_ESCAPE_NORMAL_LANES_H

#include <stdint.h>

/* GSL's ziggurat normal (gsl_ran_gaussian_ziggurat, gsl/randist/gausszig.c; Marsaglia &
   Tsang 2000, J. Stat. Softw. 5(8)) on taus2 generators (gsl/rng/taus.c; L'Ecuyer 1996,
   Math. Comp. 65, 203–213), the same bits as GSL. The tables are GSL's own, read out of
   it at start-up and checked against it branch by branch (Random/InlineZiggurat.swift):
   k[i] the fast-path bound of step i, w[i] its width, y[i] its height, r the tail start. */
typedef struct {
    const uint32_t *k;
    const double *w;
    const double *y;
    double r;
} sgd_ziggurat_tables;

/* Eight taus2 streams, one per lane (s1[l], s2[l], s3[l] is lane l's state), each drawn
   for z[8g + l], g < groups: slot l of every group of eight from lane l. The fast path runs
   in SIMD lanes; a lane that leaves it finishes its draw with GSL's slow path on its own
   state, so each lane is exactly GSL's sequence. The states are updated in place. isa as
   in mlp_lanes.h (2 AVX-512F, 1 AVX2, 0 generic; the same bits on each). */
void sgd_lane_normals(uint32_t *s1, uint32_t *s2, uint32_t *s3, const sgd_ziggurat_tables *t,
                      double *z, long groups, long isa);

/* One row of an Euler–Maruyama step with additive noise, the normals drawn as in
   sgd_lane_normals (slot i from lane i mod 8, ⌈count/8⌉ groups) and used at once:
   x[i] ← (x[i] − h·g[i]) + s·z_i for i < count (x[i] for i ≥ count untouched). The same
   draws and the same bits as sgd_lane_normals followed by that loop. */
void sgd_lane_euler_row(uint32_t *s1, uint32_t *s2, uint32_t *s3, const sgd_ziggurat_tables *t,
                        double *x, const double *g, double h, double s, long count, long isa);

/* GSL's slow path for a draw whose first word `first` left the fast path, further words
   from the taus2 state s[0], s[1], s[2] (updated). */
double sgd_ziggurat_slow_taus2(uint32_t first, uint32_t *s, const sgd_ziggurat_tables *t);

/* The same slow path with its further words taken from words[0..<count], then 0x81 (the
   start-up check feeds it the words it arms GSL's probe generator with); *used = the
   number of further words read. */
double sgd_ziggurat_slow_words(uint32_t first, const uint32_t *words, long count,
                               const sgd_ziggurat_tables *t, long *used);

#endif
