"""SciPy peers of the deterministic-reference benchmarks (Benchmarks/README.md).

The same second-order central-difference discretisations of L T = -1 for the double well
(eps = 0.1): 1-D on [-3, 0] with 4,001 nodes (reflecting at -3 by a ghost node, absorbing
at 0), solved with scipy.linalg.solve_banded; 2-D V = x^4/4 - x^2/2 + y^2/2 on
[-2.5, 0] x [-2, 2] with 257 x 257 nodes (reflecting edges, absorbing at x = 0), solved
with scipy.sparse.linalg.spsolve (SuperLU, COLAMD ordering), assembly included as in
sgd-escape's timing. Returns best-of-N seconds and the value at the start.
"""
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import solve_banded

EPS = 0.1


def one_d(n=4001):
    x = np.linspace(-3.0, 0.0, n)
    h = x[1] - x[0]
    b = -(x**3 - x)
    lower = EPS / h**2 - b / (2 * h)
    upper = EPS / h**2 + b / (2 * h)
    diag = np.full(n, -2 * EPS / h**2)
    ab = np.zeros((3, n - 1))           # unknowns: nodes 0..n-2 (node n-1 absorbing)
    ab[1] = diag[:-1]
    ab[0, 1:] = upper[:-2]
    ab[2, :-1] = lower[1:-1]
    ab[0, 1] += lower[0]                # ghost node at the reflecting end: T_{-1} = T_1
    rhs = -np.ones(n - 1)
    t = solve_banded((1, 1), ab, rhs)
    return float(np.interp(-1.0, x[:-1], t))


def two_d(n=257):
    x = np.linspace(-2.5, 0.0, n)
    y = np.linspace(-2.0, 2.0, n)
    hx, hy = x[1] - x[0], y[1] - y[0]
    nx = n - 1                          # x = 0 column absorbing
    X, Y = np.meshgrid(x[:nx], y, indexing="xy")
    bx, by = -(X**3 - X).ravel(), -Y.ravel()
    idx = np.arange(nx * n).reshape(n, nx)
    rows, cols, vals = [], [], []
    cx, cy = EPS / hx**2, EPS / hy**2
    main = np.full(nx * n, -2 * cx - 2 * cy)
    rows.append(idx.ravel()); cols.append(idx.ravel()); vals.append(main)
    for dj, di, coef in ((0, 1, cx + bx / (2 * hx)), (0, -1, cx - bx / (2 * hx)),
                         (1, 0, cy + by / (2 * hy)), (-1, 0, cy - by / (2 * hy))):
        J, I = np.meshgrid(np.arange(n), np.arange(nx), indexing="ij")
        Jn, In = J + dj, I + di
        In = np.where(In < 0, 1, In)                  # reflecting at x = -2.5
        Jn = np.where(Jn < 0, 1, np.where(Jn >= n, n - 2, Jn))   # reflecting in y
        keep = In < nx                                # the absorbing column contributes 0
        rows.append(idx[J[keep], I[keep]]); cols.append(idx[Jn[keep], In[keep]])
        vals.append(coef.reshape(n, nx)[keep])
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * n, nx * n))
    t = spla.spsolve(A, -np.ones(nx * n))
    return float(t[idx[n // 2, np.argmin(abs(x[:nx] + 1))]])


def best(f, repeats):
    fastest, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = f()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, value


if __name__ == "__main__":
    print(best(one_d, 5), best(two_d, 3))
