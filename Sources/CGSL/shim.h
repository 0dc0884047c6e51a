#ifndef SGD_ESCAPE_CGSL_SHIM_H
#define SGD_ESCAPE_CGSL_SHIM_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_zeta.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_spmatrix.h>
#include <gsl/gsl_spblas.h>
#include <gsl/gsl_splinalg.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_multiroots.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_interp.h>
#include <gsl/gsl_spline.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_exp.h>
#include <gsl/gsl_sf_log.h>

/* Swift 6 rejects GSL's exported mutable globals as not concurrency-safe;
   these accessors return the generator types by value. */
static inline const gsl_rng_type *sgd_gsl_rng_taus2(void) { return gsl_rng_taus2; }
static inline const gsl_rng_type *sgd_gsl_rng_mt19937(void) { return gsl_rng_mt19937; }
static inline const gsl_splinalg_itersolve_type *sgd_gsl_splinalg_gmres(void) { return gsl_splinalg_itersolve_gmres; }
static inline const gsl_root_fsolver_type *sgd_gsl_root_brent(void) { return gsl_root_fsolver_brent; }
static inline const gsl_min_fminimizer_type *sgd_gsl_min_brent(void) { return gsl_min_fminimizer_brent; }
static inline const gsl_multiroot_fdfsolver_type *sgd_gsl_multiroot_hybridsj(void) { return gsl_multiroot_fdfsolver_hybridsj; }
static inline const gsl_multimin_fdfminimizer_type *sgd_gsl_multimin_bfgs2(void) { return gsl_multimin_fdfminimizer_vector_bfgs2; }
static inline const gsl_multifit_nlinear_type *sgd_gsl_multifit_trust(void) { return gsl_multifit_nlinear_trust; }
static inline const gsl_interp_type *sgd_gsl_interp_cspline(void) { return gsl_interp_cspline; }
static inline const gsl_interp_type *sgd_gsl_interp_linear(void) { return gsl_interp_linear; }

/* Layout of taus2's state (gsl/rng/taus.c, unchanged since GSL 1.0). Used to set the
   full 88-bit state directly instead of through the 32-bit seed. */
typedef struct { unsigned long int s1, s2, s3; } sgd_taus_state_t;

static inline void sgd_taus2_set_state(gsl_rng *r, unsigned long s1, unsigned long s2, unsigned long s3) {
    sgd_taus_state_t *st = (sgd_taus_state_t *) r->state;
    st->s1 = s1; st->s2 = s2; st->s3 = s3;
}

static inline void sgd_taus2_get_state(const gsl_rng *r, unsigned long *s1, unsigned long *s2, unsigned long *s3) {
    const sgd_taus_state_t *st = (const sgd_taus_state_t *) r->state;
    *s1 = st->s1; *s2 = st->s2; *s3 = st->s3;
}

/* A probe generator: after arming, its draws return up to four chosen 32-bit words, then
   0x81 (in gsl_ran_gaussian_ziggurat: step 1, j = 0, accepted at once). Used to read the
   ziggurat's tables out of GSL itself and to check the inlined slow path against it, word
   for word (see InlineZiggurat.swift). */
typedef struct { unsigned long words[4]; unsigned long armed; unsigned long calls; } sgd_probe_state_t;
static void sgd_probe_set(void *s, unsigned long seed) {
    (void) seed; sgd_probe_state_t *p = (sgd_probe_state_t *) s; p->armed = 0; p->calls = 0;
}
static unsigned long sgd_probe_get(void *s) {
    sgd_probe_state_t *p = (sgd_probe_state_t *) s;
    unsigned long k = p->calls++;
    return k < p->armed ? p->words[k] : 0x81UL;
}
static double sgd_probe_get_double(void *s) { return sgd_probe_get(s) / 4294967296.0; }
static const gsl_rng_type sgd_probe_type = {
    "sgd-probe", 0xffffffffUL, 0, sizeof(sgd_probe_state_t), &sgd_probe_set, &sgd_probe_get, &sgd_probe_get_double
};
static inline const gsl_rng_type *sgd_gsl_rng_probe(void) { return &sgd_probe_type; }
static inline void sgd_probe_arm4(gsl_rng *r, unsigned long count, unsigned long w0, unsigned long w1,
                                  unsigned long w2, unsigned long w3) {
    sgd_probe_state_t *p = (sgd_probe_state_t *) r->state;
    p->words[0] = w0; p->words[1] = w1; p->words[2] = w2; p->words[3] = w3;
    p->armed = count; p->calls = 0;
}
static inline void sgd_probe_arm(gsl_rng *r, unsigned long first) { sgd_probe_arm4(r, 1, first, 0, 0, 0); }
static inline unsigned long sgd_probe_calls(const gsl_rng *r) { return ((const sgd_probe_state_t *) r->state)->calls; }

static inline void sgd_gsl_disable_error_handler(void) { gsl_set_error_handler_off(); }

#endif
