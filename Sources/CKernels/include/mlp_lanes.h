#ifndef SGD_ESCAPE_MLP_LANES_H
#define SGD_ESCAPE_MLP_LANES_H

/* Gradients of a multilayer perceptron for many independent parameter vectors at once, the
   chains of one ensemble block in SIMD lanes (Sources/Diffusion/Networks/MLP+Lanes.swift
   documents the mathematics; docs/THEORY.md §7). */

/* The network: the same layout and conventions as the Swift type `MLP`. */
typedef struct {
    long layers;                 /* L ≥ 1 weight layers */
    const long *sizes;           /* L + 1 widths n_0 = p, …, n_L = outputs */
    const long *weight_offsets;  /* offset of W_l (n_l × n_{l−1}, row-major) in θ, index l − 1 */
    const long *bias_offsets;    /* offset of b_l in θ, index l − 1; unused without bias */
    long bias;                   /* 1 with biases */
    long activation;             /* 0 linear, 1 ReLU, 2 tanh */
    long loss;                   /* 0 square (½‖u − y‖²), 1 softmax cross-entropy */
    double scale;                /* c = √k */
    const double *inputs;        /* n × p, row-major */
    const double *targets;       /* square: n × outputs; cross-entropy: n class indices */
    long total_units;            /* Σ_l n_l */
    long dimension;              /* d, the parameters */
} sgd_mlp_lanes_net;

/* Lanes per SIMD group: a block's stride must be a multiple of it. */
#define SGD_MLP_LANE_GROUP 8
/* Samples per pass over the weights. */
#define SGD_MLP_LANE_CHUNK 16

/* Doubles of work space `sgd_mlp_lanes_gradient` needs. */
long sgd_mlp_lanes_work_size(const sgd_mlp_lanes_net *net);

/* For lanes i < count (count ≤ stride, stride a multiple of SGD_MLP_LANE_GROUP), with
   θ_i[j] = theta[j·stride + i]:
       g[j·stride + i] += scale · Σ_{r<batch} w_{r,i} ∂ℓ_{s(r,i)}/∂θ_j (θ_i),
   s(r, i) = indices[r·stride + i] (first + r when indices is NULL), w_{r,i} =
   weights[r·stride + i] (1 when NULL). Lanes ≥ count are neither read for indices or
   weights nor written. Allocation-free; `work` holds sgd_mlp_lanes_work_size doubles.
   isa: the instruction set, 2 AVX-512F, 1 AVX2, 0 generic x86-64 (at most
   sgd_mlp_lanes_best_isa()); all give the same bits: no fused multiply-add, and the same
   operations in the same order, only wider. */
void sgd_mlp_lanes_gradient(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count,
                            const long *indices, long first, const double *weights, long batch, double scale,
                            double *g, double *work, long isa);

/* The same gradient g_i (zero-started) applied as a step in place: θ_i ← θ_i − step·g_i for
   lanes i < count, each component rounded as θ − step·g with g summed as
   sgd_mlp_lanes_gradient sums it into zeros. */
void sgd_mlp_lanes_step(const sgd_mlp_lanes_net *net, double *theta, long stride, long count, const long *indices,
                        long first, const double *weights, long batch, double scale, double step, double *work, long isa);

/* The loss L(θ_i) = (1/n) Σ_{s<samples} ℓ_s(θ_i) of lanes i < count into out[i] (the same
   layout and conditions; each lane's sample losses summed in sample order, then / n). */
void sgd_mlp_lanes_loss(const sgd_mlp_lanes_net *net, const double *theta, long stride, long count, long samples,
                        double *out, double *work, long isa);

/* The best instruction set of this CPU for the kernel: 2 AVX-512F, 1 AVX2, 0 otherwise. */
long sgd_mlp_lanes_best_isa(void);

#endif
