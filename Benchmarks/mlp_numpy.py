#!/usr/bin/env python3
"""The NumPy peer of the network ensemble benchmark (issue 14): P independent SGD chains of
one MLP advanced in lock-step, each with its own parameters and its own minibatches (drawn
with replacement), the layers as batched matrix products (np.matmul over the chain axis),
softmax cross-entropy, ReLU hidden layers with biases, and the exit test ||theta - theta0||
>= r evaluated after every step, as sgd-escape does. One thread (run.py sets
OMP_NUM_THREADS=1 etc.).

Replica-iterations per second = P x steps / wall seconds.
"""
import time

import numpy as np


def glorot(rng, n_out, n_in, chains):
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(chains, n_out, n_in))


def run(inputs, labels, hidden, chains, batch, steps, eta=0.01, radius=1e9, seed=1):
    """inputs (n, p) float64, labels (n,) int. Returns (replica_iterations, seconds, exited)."""
    rng = np.random.default_rng(seed)
    n, p = inputs.shape
    outputs = int(labels.max()) + 1
    sizes = [p] + list(hidden) + [outputs]
    layers = len(sizes) - 1
    Ws = [glorot(rng, sizes[l + 1], sizes[l], 1).repeat(chains, axis=0) for l in range(layers)]
    bs = [np.zeros((chains, sizes[l + 1])) for l in range(layers)]
    W0 = [w.copy() for w in Ws]
    b0 = [b.copy() for b in bs]
    active = np.ones(chains, dtype=bool)
    chain_index = np.arange(chains)[:, None]
    row_index = np.arange(batch)[None, :]
    r2 = radius * radius
    start = time.perf_counter()
    for _ in range(steps):
        idx = rng.integers(0, n, size=(chains, batch))
        a = inputs[idx]                                  # (P, B, p)
        acts, zs = [a], []
        for l in range(layers):
            z = np.matmul(a, Ws[l].transpose(0, 2, 1))
            z += bs[l][:, None, :]
            zs.append(z)
            if l < layers - 1:
                a = np.maximum(z, 0.0)
                acts.append(a)
        u = zs[-1]
        u -= u.max(axis=2, keepdims=True)
        np.exp(u, out=u)
        u /= u.sum(axis=2, keepdims=True)
        u[chain_index, row_index, labels[idx]] -= 1.0
        delta = u
        delta *= 1.0 / batch
        for l in range(layers - 1, -1, -1):
            gw = np.matmul(delta.transpose(0, 2, 1), acts[l])
            gb = delta.sum(axis=1)
            if l > 0:
                delta = np.matmul(delta, Ws[l])
                delta *= zs[l - 1] > 0
            Ws[l] -= eta * gw
            bs[l] -= eta * gb
        dist2 = np.zeros(chains)
        for l in range(layers):
            dist2 += ((Ws[l] - W0[l]) ** 2).sum(axis=(1, 2)) + ((bs[l] - b0[l]) ** 2).sum(axis=1)
        active &= dist2 < r2
    seconds = time.perf_counter() - start
    return chains * steps, seconds, int((~active).sum())


def synthetic(n, p, classes, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.integers(0, classes, size=n)


if __name__ == "__main__":
    x, y = synthetic(178, 13, 3)
    work, t, _ = run(x, y, [40], chains=1000, batch=8, steps=50)
    print(f"small: {work / t / 1e6:.3f} M replica-iterations/s")
