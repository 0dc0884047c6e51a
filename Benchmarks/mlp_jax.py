#!/usr/bin/env python3
"""The JAX peer of the network ensemble benchmark (issue 14): the same P independent SGD
chains as mlp_numpy.py (one MLP, ReLU hidden layers with biases, softmax cross-entropy,
minibatches of B drawn with replacement per chain, the exit test ||theta - theta0|| >= r after
every step), written as one chain's step vectorised over the chains with jax.vmap, all
steps inside one jax.jit-compiled lax.fori_loop, float64, one thread (XLA's CPU thread pool
limited by XLA_FLAGS, set before JAX is imported).

Run alone it prints one JSON line per network: {"network", "replica_iterations_per_second"}.
Compilation is excluded (a warm-up call compiles); each timing ends with block_until_ready.
"""
import argparse
import json
import os
import time

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)


def run(inputs, labels, hidden, chains, batch, steps, eta=0.01, radius=1e9, seed=1, repeats=3):
    """Best replica-iterations per second over `repeats` timed runs (after one compiling run)."""
    n, p = inputs.shape
    outputs = int(labels.max()) + 1
    sizes = [p] + list(hidden) + [outputs]
    rng = np.random.default_rng(seed)
    params = []
    for l in range(len(sizes) - 1):
        a = np.sqrt(6.0 / (sizes[l] + sizes[l + 1]))
        w = rng.uniform(-a, a, size=(sizes[l + 1], sizes[l]))
        params.append((jnp.asarray(np.repeat(w[None], chains, axis=0)), jnp.zeros((chains, sizes[l + 1]))))
    X, Y = jnp.asarray(inputs), jnp.asarray(labels)
    r2 = radius * radius

    def loss(theta, xb, yb):
        a = xb
        for l, (w, b) in enumerate(theta):
            z = a @ w.T + b
            a = jnp.maximum(z, 0.0) if l < len(theta) - 1 else z
        return jnp.mean(jax.nn.logsumexp(a, axis=1) - jnp.take_along_axis(a, yb[:, None], axis=1)[:, 0])

    grad = jax.grad(loss)

    def chain_step(theta, key):
        idx = jax.random.randint(key, (batch,), 0, n)
        g = grad(theta, X[idx], Y[idx])
        return jax.tree_util.tree_map(lambda t, d: t - eta * d, theta, g)

    all_steps = jax.vmap(chain_step)

    @jax.jit
    def simulate(theta0, key):
        def body(k, carry):
            theta, active, key = carry
            key, sub = jax.random.split(key)
            theta = all_steps(theta, jax.random.split(sub, chains))
            dist2 = sum(jnp.sum((t - t0) ** 2, axis=tuple(range(1, t.ndim)))
                        for t, t0 in zip(jax.tree_util.tree_leaves(theta), jax.tree_util.tree_leaves(theta0)))
            return theta, active & (dist2 < r2), key
        return jax.lax.fori_loop(0, steps, body, (theta0, jnp.ones(chains, dtype=bool), key))

    key = jax.random.PRNGKey(seed)
    jax.block_until_ready(simulate(params, key))  # compile
    best = 0.0
    for r in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(simulate(params, jax.random.PRNGKey(seed + r + 1)))
        best = max(best, chains * steps / (time.perf_counter() - start))
    return best


if __name__ == "__main__":
    import mlp_numpy
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", required=True, help="JSON list of {network, samples, sizes, chains, batch}")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for net in json.loads(args.networks):
        sizes = net["sizes"]
        x, y = mlp_numpy.synthetic(net["samples"], sizes[0], sizes[-1])
        rate = run(x, y, sizes[1:-1], net["chains"], net["batch"], args.steps, repeats=args.repeats)
        print(json.dumps({"network": net["network"], "replica_iterations_per_second": rate, "jax": jax.__version__}))
