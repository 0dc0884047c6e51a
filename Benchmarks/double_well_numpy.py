"""The NumPy peer of the reference workload (Benchmarks/README.md).

1-D double well V = x^4/4 - x^2/2, eps = 0.1, dt = 1e-3, Euler-Maruyama from x = -1
until the first step end with x > 0, vectorised over paths, exited paths dropped as soon
as they exit, one thread. Returns (useful path-steps, seconds, mean exit time).
"""
import time

import numpy as np


def run(paths=10_000, eps=0.1, dt=1e-3, seed=1):
    rng = np.random.default_rng(seed)
    x = np.full(paths, -1.0)
    scale = np.sqrt(2.0 * eps * dt)
    step = 0
    useful = 0
    exit_steps = []
    drift = np.empty_like(x)
    start = time.perf_counter()
    while x.size:
        step += 1
        n = x.size
        z = rng.standard_normal(n)
        np.multiply(x, x, out=drift[:n])
        drift[:n] -= 1.0
        drift[:n] *= x           # x^3 - x
        drift[:n] *= -dt
        x += drift[:n]
        x += scale * z
        useful += n
        out = x > 0.0
        if out.any():
            exit_steps.extend([step] * int(out.sum()))
            x = x[~out]
    seconds = time.perf_counter() - start
    return useful, seconds, float(np.mean(exit_steps)) * dt


if __name__ == "__main__":
    u, s, m = run()
    print(f"{u} useful path-steps in {s:.2f} s = {u / s / 1e6:.1f} M/s, mean exit time {m:.3f}")
