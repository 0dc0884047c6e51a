"""The NumPy peer of the splitting benchmark (Benchmarks/README.md): the mean first-exit
time of the 1-D double well by adaptive multilevel splitting with the same estimator as
sgd-escape's `AdaptiveMultilevelSplitting`, vectorised, one thread.

Langevin dX = -V'(X) dt + sqrt(2 eps) dW, V = x^4/4 - x^2/2, Euler-Maruyama with dt,
start x0 = -1, exit B = {x > 0} tested at step ends (the step test). Reaction coordinate
xi = x, start set A = {x <= -1}, level set Sigma = {x >= -0.9}.

1. Loops (vectorised over walkers): each walker runs a fixed number of loops to completion
   (selected by their start): tau0 = steps from x0 to the first Sigma-entry; a loop = steps
   from a Sigma-entry through A to the next Sigma-entry; a loop that reaches B is a direct
   success and the walker restarts at x0. The Sigma-entry points are kept.
2. R independent generalized AMS runs (Brehier et al. 2016), each of N replicas from entry
   points drawn uniformly with replacement. A replica runs until A or B; its level is the
   maximum of xi along its path (+inf in B); its records are (xi, step) at each new maximum
   (in 1-D the state at a record is xi itself). Each iteration kills every replica with
   level <= z, the k-th smallest level; the weight is multiplied by 1 - K/N; each killed
   replica copies a uniformly chosen survivor's path up to the survivor's first record
   above z and is resimulated from there (vectorised over the killed replicas). Stop when
   the k-th smallest level is +inf; p = weight * (replicas in B)/N (0 on extinction).
3. E[T] = E[tau0] + (1/p - 1) E[loop] + E[reactive], SE by the delta method.

Paths are advanced in chunks of `CHUNK` steps (one NumPy call per operation and step over
all lanes), and the chunk's trajectory is then searched for A, B and new maxima with
whole-array operations; a lane that stops inside a chunk has its remaining steps discarded.
"""
import time

import numpy as np

CHUNK = 128


class DoubleWell:
    def __init__(self, eps=0.02, dt=1e-3, start=-1.0, start_level=-1.0, sigma_level=-0.9, exit_level=0.0):
        self.eps, self.dt = eps, dt
        self.start, self.za, self.zs, self.zb = start, start_level, sigma_level, exit_level
        self.scale = np.sqrt(2.0 * eps * dt)
        self.factor = 1.0 + dt  # x - dt (x^3 - x) = x (1 + dt - dt x^2)


def simulate_loops(model, loops, walkers, rng):
    """Walkers from x0, each running its share of `loops` loops to completion."""
    w = min(walkers, loops)
    quota = np.array([loops // w + (1 if i < loops % w else 0) for i in range(w)])
    x = np.full(w, model.start)
    phase = np.zeros(w, dtype=np.int8)  # 0: to Sigma (first), 1: to A or B, 2: to Sigma
    steps = np.zeros(w, dtype=np.int64)
    # an event when x <= lo or x >= hi (hi = the smallest double > 0 while heading for B)
    lo = np.full(w, -np.inf)
    hi = np.full(w, model.zs)
    above_b = np.nextafter(model.zb, np.inf)
    first, loop_steps, reactive, entries = [], [], [], []
    started = path_steps = 0
    t = np.empty(w)
    while x.size:
        n = x.size
        z = rng.standard_normal(n)
        z *= model.scale
        np.multiply(x, x, out=t[:n])
        t[:n] *= -model.dt
        t[:n] += model.factor
        x *= t[:n]
        x += z
        steps += 1
        path_steps += n
        idx = np.flatnonzero((x <= lo) | (x >= hi))
        if not idx.size:
            continue
        ph, xv = phase[idx], x[idx]
        # back in A: the loop goes on to the next Sigma-entry
        back = idx[(ph == 1) & (xv <= model.za)]
        phase[back] = 2
        lo[back] = -np.inf
        hi[back] = model.zs
        # reached B from a Sigma-entry: a direct success
        won = idx[(ph == 1) & (xv > model.zb)]
        reactive.append(steps[won].copy())
        # entered Sigma (or exited on the entry step)
        ent = idx[ph != 1]
        pe = phase[ent]
        first.append(steps[ent[pe == 0]].copy())
        loop_steps.append(steps[ent[pe == 2]].copy())
        done = ent[quota[ent] == 0]
        go = ent[quota[ent] > 0]
        quota[go] -= 1
        started += go.size
        entries.append(x[go].copy())
        jumped = go[x[go] > model.zb]  # the entry step exited: success, no reactive time
        reactive.append(np.zeros(jumped.size, dtype=np.int64))
        go = go[x[go] <= model.zb]
        phase[go] = 1
        steps[go] = 0
        lo[go] = model.za
        hi[go] = above_b
        # successes restart at x0 or retire when their quota is spent
        ended = np.concatenate([won, jumped])
        restart = ended[quota[ended] > 0]
        x[restart] = model.start
        phase[restart] = 0
        steps[restart] = 0
        lo[restart] = -np.inf
        hi[restart] = model.zs
        retire = np.concatenate([done, ended[quota[ended] == 0]])
        if retire.size:
            keep = np.ones(x.size, dtype=bool)
            keep[retire] = False
            x, phase, steps, quota, lo, hi = x[keep], phase[keep], steps[keep], quota[keep], lo[keep], hi[keep]
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)  # noqa: E731
    return dict(first=cat(first), loops=cat(loop_steps), reactive=cat(reactive),
                entries=np.concatenate(entries), started=started, path_steps=path_steps)


class AMSBatch:
    """`runs` independent generalized AMS runs of N replicas each, iterated in lockstep: the
    killed replicas of all runs in the batch are resimulated together (replica g of the
    batch is replica g mod N of run g // N). A batch of 1 is the plain per-run algorithm."""

    def __init__(self, model, replicas, kill, runs, rng):
        self.m, self.n, self.k, self.runs, self.rng = model, replicas, kill, runs, rng
        self.path_steps = 0

    def simulate(self, reps):
        """Replicas `reps`, each from its last record, until A or B; their new records are
        appended to rec_x/rec_s (in step order)."""
        m = self.m
        if not reps.size:
            return
        x = np.array([self.rec_x[r][-1] for r in reps])
        step = np.array([self.rec_s[r][-1] for r in reps], dtype=np.int64)
        lvl = x.copy()
        ev_r, ev_x, ev_s = [], [], []
        rows = np.arange(CHUNK)[:, None]
        while reps.size:
            n = reps.size
            noise = self.rng.standard_normal((CHUNK, n))
            noise *= m.scale
            X = np.empty((CHUNK, n))
            t = np.empty(n)
            prev = x
            for s in range(CHUNK):
                np.multiply(prev, prev, out=t)
                t *= -m.dt
                t += m.factor
                t *= prev
                prev = X[s]
                np.add(t, noise[s], out=prev)
            self.path_steps += CHUNK * n
            in_a = X <= m.za
            in_b = X > m.zb
            stop = in_a | in_b
            stopped = stop.any(axis=0)
            end = np.where(stopped, stop.argmax(axis=0), CHUNK)  # steps before the stop
            running = np.maximum.accumulate(X, axis=0)
            before = np.empty_like(X)
            before[0] = lvl
            np.maximum(running[:-1], lvl, out=before[1:])
            rs, ls = np.nonzero((X > before) & (rows < end))
            ev_r.append(reps[ls])
            ev_x.append(X[rs, ls])
            ev_s.append(step[ls] + rs + 1)
            cols = np.flatnonzero(stopped)
            b = cols[in_b[end[cols], cols]]
            if b.size:
                ev_r.append(reps[b])
                ev_x.append(np.full(b.size, np.inf))
                ev_s.append(step[b] + end[b] + 1)
            go = ~stopped
            reps, x, step = reps[go], X[-1, go].copy(), step[go] + CHUNK
            lvl = np.maximum(lvl[go], running[-1, go])
        r = np.concatenate(ev_r)
        if not r.size:
            return
        xs, ss = np.concatenate(ev_x), np.concatenate(ev_s)
        order = np.lexsort((ss, r))
        r, xs, ss = r[order], xs[order], ss[order]
        heads = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        for a, e in zip(heads, np.r_[heads[1:], r.size]):
            i = r[a]
            self.rec_x[i] = np.concatenate((self.rec_x[i], xs[a:e]))
            self.rec_s[i] = np.concatenate((self.rec_s[i], ss[a:e]))

    def run(self, entries):
        n, k, rng, runs = self.n, self.k, self.rng, self.runs
        start = entries[rng.integers(entries.size, size=runs * n)]
        self.rec_x = [np.array([v]) for v in start]
        self.rec_s = [np.zeros(1, dtype=np.int64) for _ in range(runs * n)]
        for g in np.flatnonzero(start > self.m.zb):  # an entry already in B
            self.rec_x[g] = np.array([np.inf])
        self.simulate(np.flatnonzero(start <= self.m.zb))
        level = np.array([xs[-1] for xs in self.rec_x]).reshape(runs, n)
        weight, iterations = np.ones(runs), np.zeros(runs, dtype=np.int64)
        alive, extinct = np.ones(runs, dtype=bool), np.zeros(runs, dtype=bool)
        flat = level.reshape(-1)
        while True:
            active = np.flatnonzero(alive)
            if not active.size:
                break
            z = np.partition(level[active], k - 1, axis=1)[:, k - 1]
            alive[active[z == np.inf]] = False
            active, z = active[z < np.inf], z[z < np.inf]
            if not active.size:
                break
            iterations[active] += 1
            kill = level[active] <= z[:, None]
            counts = kill.sum(axis=1)
            gone = counts == n  # every replica killed: extinction, p = 0
            extinct[active[gone]] = True
            alive[active[gone]] = False
            weight[active] *= 1.0 - counts / n
            pending = []
            for q, row, zq in zip(active[~gone], kill[~gone], z[~gone]):
                killed = q * n + np.flatnonzero(row)
                survivors = q * n + np.flatnonzero(~row)
                sources = survivors[rng.integers(survivors.size, size=killed.size)]
                for i, j in zip(killed, sources):
                    m = np.searchsorted(self.rec_x[j], zq, side="right")  # first record above z
                    self.rec_x[i] = self.rec_x[j][:m + 1]
                    self.rec_s[i] = self.rec_s[j][:m + 1]
                    flat[i] = self.rec_x[i][-1]
                    if flat[i] != np.inf:
                        pending.append(i)
            self.simulate(np.array(pending, dtype=np.int64))
            flat[pending] = [self.rec_x[i][-1] for i in pending]
        results = []
        for q in range(runs):
            in_b = np.flatnonzero(level[q] == np.inf)
            durations = np.array([self.rec_s[q * n + i][-1] for i in in_b])
            ok = not extinct[q] and durations.size
            results.append(dict(p=0.0 if extinct[q] else weight[q] * in_b.size / n,
                                reactive=durations.mean() if ok else None, iterations=int(iterations[q]),
                                path_steps=self.path_steps / runs))
        return results


def mean_se(xs):
    xs = np.asarray(xs, dtype=float)
    return xs.mean(), xs.std(ddof=1) / np.sqrt(xs.size)


def combine(loops, runs):
    """The estimator of AdaptiveMultilevelSplitting.combine, in steps."""
    p, p_se = mean_se([r["p"] for r in runs])
    tau0, tau0_se = mean_se(loops["first"])
    loop, loop_se = mean_se(loops["loops"]) if loops["loops"].size else (0.0, 0.0)
    weighted = [(r["p"], r["reactive"]) for r in runs if r["reactive"] is not None]
    total = sum(w for w, _ in weighted)
    reactive = reactive_se = 0.0
    if total > 0:
        reactive = sum(w * v for w, v in weighted) / total
        residuals = np.array([r["p"] * ((r["reactive"] if r["reactive"] is not None else reactive) - reactive)
                              for r in runs])
        if len(runs) > 1:
            reactive_se = np.sqrt((residuals ** 2).sum() / (len(runs) - 1) / len(runs)) / (total / len(runs))
    mean = se = None
    if p > 0:
        mean = tau0 + (1 / p - 1) * loop + reactive
        se = np.sqrt(tau0_se ** 2 + (1 / p - 1) ** 2 * loop_se ** 2 + loop ** 2 * p_se ** 2 / p ** 4 + reactive_se ** 2)
    return dict(p=p, p_se=p_se, tau0=tau0, loop=loop, reactive=reactive, mean_steps=mean, se_steps=se)


def run(eps=0.02, dt=1e-3, runs=20, loops=20_000, replicas=1000, kill=100, walkers=1024, seed=1, batch=1):
    """Loops, then `runs` AMS runs, `batch` of them at a time in lockstep (1: one run after
    another, vectorised over its own killed replicas); returns the estimate in time units
    with the timings."""
    model = DoubleWell(eps=eps, dt=dt)
    rng = np.random.default_rng(seed)
    start, cpu = time.perf_counter(), time.process_time()
    lp = simulate_loops(model, loops, walkers, rng)
    middle = time.perf_counter()
    results = []
    for first in range(0, runs, batch):
        results += AMSBatch(model, replicas, kill, min(batch, runs - first), rng).run(lp["entries"])
    end, cpu = time.perf_counter(), time.process_time() - cpu
    est = combine(lp, results)
    mean = est["mean_steps"] * dt if est["mean_steps"] is not None else None
    se = est["se_steps"] * dt if est["se_steps"] is not None else None
    return dict(mean=mean, se=se, p=est["p"], p_se=est["p_se"], seconds=end - start, cpu_seconds=cpu,
                loop_seconds=middle - start, ams_seconds=end - middle, runs=runs, loops=loops,
                path_steps=lp["path_steps"] + sum(r["path_steps"] for r in results),
                iterations=float(np.mean([r["iterations"] for r in results])))


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--eps", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--loops", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="runs iterated in lockstep")
    a = parser.parse_args()
    r = run(eps=a.eps, runs=a.runs, loops=a.loops, seed=a.seed, batch=a.batch)
    print(r)
    print(f"mean {r['mean']:.6g} +- {r['se']:.3g} (rel SE {r['se'] / r['mean']:.3%}) in {r['seconds']:.2f} s")
