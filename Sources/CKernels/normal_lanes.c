/* See include/normal_lanes.h. Compiled with -ffp-contract=off -fno-fast-math (Package.swift):
   every operation is rounded as written, as in GSL's own C, so the results are GSL's bits. */
#include "shared/ziggurat_lanes.h"

typedef struct { const uint32_t *words; long count; long used; } word_source;

static inline __attribute__((always_inline)) uint32_t words_next(void *context) {
    word_source *w = (word_source *)context;
    const long k = w->used++;
    return k < w->count ? w->words[k] : 0x81u;
}

double sgd_ziggurat_slow_taus2(uint32_t first, uint32_t *s, const sgd_ziggurat_tables *t) {
    return slow_path(first, s, taus2_next, t);
}

double sgd_ziggurat_slow_words(uint32_t first, const uint32_t *words, long count,
                               const sgd_ziggurat_tables *t, long *used) {
    word_source source = { words, count, 0 };
    const double x = slow_path(first, &source, words_next, t);
    *used = source.used;
    return x;
}

/* Eight lanes, `groups` groups: z[8g + l] from lane l when z is non-null; otherwise the
   Euler–Maruyama row update x[i] ← (x[i] − h·g[i]) + s·z_i for i < count, z_i the normal of
   slot i (lane i mod 8), the same operations in the same order as the Swift loop it replaces. */
static inline __attribute__((always_inline))
void lanes_body(uint32_t *p1, uint32_t *p2, uint32_t *p3, const sgd_ziggurat_tables *t, double *z, long groups,
                double *x, const double *gr, double h, double sc, long count) {
    u8x s1 = *(const u8xu *)p1, s2 = *(const u8xu *)p2, s3 = *(const u8xu *)p3;
    for (long g = 0; g < groups; g++) {
        const d8 normal = draw_group(&s1, &s2, &s3, t);
        if (z) {
            *(d8u *)(z + 8 * g) = normal;
        } else if (count - 8 * g >= 8) {
            double *xg = x + 8 * g;
            *(d8u *)xg = (*(const d8u *)xg - h * *(const d8u *)(gr + 8 * g)) + sc * normal;
        } else {
            for (long l = 0; l < count - 8 * g; l++) x[8 * g + l] = (x[8 * g + l] - h * gr[8 * g + l]) + sc * normal[l];
        }
    }
    *(u8xu *)p1 = s1; *(u8xu *)p2 = s2; *(u8xu *)p3 = s3;
}

static void lanes_generic(uint32_t *a, uint32_t *b, uint32_t *c, const sgd_ziggurat_tables *t, double *z, long groups,
                          double *x, const double *g, double h, double s, long n) { lanes_body(a, b, c, t, z, groups, x, g, h, s, n); }
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void lanes512(uint32_t *a, uint32_t *b, uint32_t *c, const sgd_ziggurat_tables *t, double *z, long groups,
                                                        double *x, const double *g, double h, double s, long n) { lanes_body(a, b, c, t, z, groups, x, g, h, s, n); }
__attribute__((target("avx2"))) static void lanes256(uint32_t *a, uint32_t *b, uint32_t *c, const sgd_ziggurat_tables *t, double *z, long groups,
                                                     double *x, const double *g, double h, double s, long n) { lanes_body(a, b, c, t, z, groups, x, g, h, s, n); }
#endif

static void lanes(uint32_t *s1, uint32_t *s2, uint32_t *s3, const sgd_ziggurat_tables *t, double *z, long groups,
                  double *x, const double *g, double h, double s, long n, long isa) {
#if defined(__x86_64__)
    if (isa == 2) { lanes512(s1, s2, s3, t, z, groups, x, g, h, s, n); return; }
    if (isa == 1) { lanes256(s1, s2, s3, t, z, groups, x, g, h, s, n); return; }
#endif
    lanes_generic(s1, s2, s3, t, z, groups, x, g, h, s, n);
}

void sgd_lane_normals(uint32_t *s1, uint32_t *s2, uint32_t *s3, const sgd_ziggurat_tables *t,
                      double *z, long groups, long isa) {
    lanes(s1, s2, s3, t, z, groups, 0, 0, 0, 0, 0, isa);
}

void sgd_lane_euler_row(uint32_t *s1, uint32_t *s2, uint32_t *s3, const sgd_ziggurat_tables *t,
                        double *x, const double *g, double h, double s, long count, long isa) {
    lanes(s1, s2, s3, t, 0, (count + 7) / 8, x, g, h, s, count, isa);
}
