import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// Exits and starts for finite sums and networks (issue 12, item 6): `exit.loss_above`,
/// `exit.distance_from_start` and linear regression's least-squares minimizer, each
/// against a case whose answer is known exactly.
@Suite struct ExitRegionJobTests {
    static func parseError(_ text: String) -> String? {
        do { _ = try JobSpec.parse(text); return nil } catch { return error.message }
    }

    static func run(_ text: String, threads: Int = 2) throws -> [Cell] {
        try JobRunner(spec: try JobSpec.parse(text), threads: threads).run()
    }

    /// A job on the quadratic V = x² (h = 2) from 0, discrete SGD with Gaussian noise, its
    /// exact chain and the SDE's grid solve, with the given `[exit]` line.
    static func quadratic1D(exit: String) -> String {
        """
        name = "loss-exit-1d"
        seed = 3
        [landscape]
        potential = "x^2"
        [start]
        point = [0.0]
        [exit]
        \(exit)
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = 0.1
        noise = { law = "gaussian", sigma = 1.2 }
        paths = 4000
        max_steps = 100000
        [[experiment]]
        name = "chain"
        dynamics = "sgd"
        method = "chain"
        learning_rate = 0.1
        noise = { law = "gaussian", sigma = 1.2 }
        [[experiment]]
        name = "grid"
        dynamics = "sgd-sde"
        method = "backward-kolmogorov"
        learning_rate = 0.1
        noise = { law = "gaussian", sigma = 1.2 }
        """
    }

    /// In 1-D, L > c on V = x² is the interval exit |x| ≥ √c exactly: the terms are its two
    /// ends (bisection to machine precision), the exact chain and the SDE's grid solve equal
    /// those of `interval = [−√c, √c]` to within their Richardson errors, and discrete SGD's
    /// Monte Carlo mean lies within 5 SE of the exact chain (exact for the step-checked
    /// chain: no bias budget). `distance_from_start = √c` from 0 is the same interval.
    @Test func lossAboveInOneDimensionIsTheSublevelInterval() throws {
        let c = 0.3, r = c.squareRoot()
        let loss = try JobSpec.parse(Self.quadratic1D(exit: "loss_above = \(c)"), checkCells: false)
        let terms = try loss.first.exit.terms(on: loss.first.landscape, start: loss.first.start)
        #expect(terms.map(\.label) == ["loss > 0.3 (x <= -0.547723)", "loss > 0.3 (x >= 0.547723)"])
        // each term's level is affine, zero at its end: the ends are ∓√c to a few ulps
        let ends = terms.map { t -> Double in
            let g = t.level!, slope = g.derivative(withRespectTo: 0).constantValue!
            return -g.evaluate(at: [0]) / slope
        }
        #expect(abs(ends[0] + r) <= 4 * r.ulp && abs(ends[1] - r) <= 4 * r.ulp, "ends \(ends), √c = \(r)")

        let viaLoss = try Self.run(Self.quadratic1D(exit: "loss_above = \(c)"))
        let viaInterval = try Self.run(Self.quadratic1D(exit: "interval = [\(-r), \(r)]"))
        let viaDistance = try Self.run(Self.quadratic1D(exit: "distance_from_start = \(r)"))
        for k in 1...2 {  // chain, grid: the same boundaries give the same solves
            let a = try #require(viaLoss[k].mean), b = try #require(viaInterval[k].mean), d = try #require(viaDistance[k].mean)
            let budget = (viaLoss[k].methodError ?? 0) + (viaInterval[k].methodError ?? 0) + 1e-9 * b
            #expect(abs(a - b) <= budget && abs(d - b) <= budget, "\(viaLoss[k].experiment): loss \(a), interval \(b), distance \(d), budget \(budget)")
        }
        let mc = viaLoss[0], exact = try #require(viaLoss[1].mean)
        let mean = try #require(mc.mean), se = try #require(mc.standardError)
        print("loss_above 1-D: sgd \(mean) ± \(se), exact chain \(exact), SDE grid \(viaLoss[2].mean!)")
        #expect(abs(mean - exact) <= Statistics.z * se, "sgd \(mean) ± \(se) vs chain \(exact)")
        #expect(mc.exitSides.map(\.label) == terms.map(\.label) && mc.exitSides.reduce(0) { $0 + $1.count } == 4000)
    }

    /// Where {L ≤ c} is not one interval (the double well below the barrier: two wells), a
    /// 1-D loss exit stays the term L > c: Monte Carlo runs it, the grid methods refuse it
    /// by name.
    @Test func lossAboveAcrossTwoWellsIsOneTerm() throws {
        let text = """
        name = "two-wells"
        [landscape]
        potential = "x^4/4 - x^2/2"
        [start]
        point = [-1.0]
        [exit]
        loss_above = -0.1
        [[experiment]]
        name = "grid"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.1
        """
        let message = Self.parseError(text)
        #expect(message?.contains("'loss > -0.1' is not") == true, "\(message ?? "no error")")
        let spec = try JobSpec.parse(text, checkCells: false)
        let terms = try spec.first.exit.terms(on: spec.first.landscape, start: spec.first.start)
        #expect(terms.map(\.label) == ["loss > -0.1"])
        // the right well lies below the level too: not in the exit region
        #expect(ExitProblem.firstTerm(terms, holdingAt: [1], on: spec.first.landscape) == nil)
        #expect(ExitProblem.firstTerm(terms, holdingAt: [0], on: spec.first.landscape) == 0)
    }

    /// The same 2-D exit two ways on a finite sum whose loss is L = ½‖θ‖² (one sample, A = I):
    /// `loss_above = c` (the finite sum's loss, evaluated in the exit test) and
    /// `distance_from_start = √(2c)` from the minimizer (a compiled ball) are the same set,
    /// so with one seed the paths exit at the same steps (they could differ only where
    /// ‖θ‖ is within rounding of the radius). Splitting with the default coordinate ξ = L − c
    /// agrees with that Monte Carlo mean within 5 combined SEs.
    @Test func lossAboveOnAFiniteSumMatchesTheBall() throws {
        func job(_ exit: String) -> String {
            """
            name = "finite-sum-exit"
            seed = 5
            [landscape]
            builtin = "quadratic-sums"
            matrices = [[[1, 0], [0, 1]]]
            [start]
            at = "minimizer"
            [exit]
            \(exit)
            [[experiment]]
            name = "sgd"
            dynamics = "sgd"
            learning_rate = 0.1
            noise = { law = "gaussian", sigma = 1.0 }
            paths = 4000
            max_steps = 100000
            [[experiment]]
            name = "split"
            dynamics = "sgd"
            method = "splitting"
            learning_rate = 0.1
            noise = { law = "gaussian", sigma = 1.0 }
            replicas = 200
            runs = 10
            loops = 4000
            """
        }
        let c = 0.15
        let viaLoss = try Self.run(job("loss_above = \(c)"))
        let viaBall = try Self.run(job("distance_from_start = \((2 * c).squareRoot())"))
        let (a, b) = (viaLoss[0], viaBall[0])
        #expect(a.exitSides.map(\.label) == ["loss > 0.15"] && b.exitSides.map(\.label) == ["‖θ − θ₀‖ >= \((2 * c).squareRoot())"])
        #expect(a.exited == 4000 && a.mean == b.mean && a.standardError == b.standardError, "loss \(a.mean ?? .nan), ball \(b.mean ?? .nan)")
        let split = viaLoss[1]
        let m = try #require(a.mean), se = try #require(a.standardError)
        let s = try #require(split.mean), sse = try #require(split.standardError)
        print("finite-sum loss exit: Monte Carlo \(m) ± \(se), splitting \(s) ± \(sse) (\(split.estimator.prefix(120)))")
        #expect(abs(m - s) <= Statistics.z * (se * se + sse * sse).squareRoot())
        #expect(split.estimator.contains("L - 0.15"), "\(split.estimator)")
    }

    /// Linear regression's least-squares minimizer against simple regression's closed form
    /// (slope cov(x, y)/var(x), intercept ȳ − slope·x̄) on a CSV with a column of ones; QR is
    /// backward stable, so 1e-12 relative covers its O(κ(A)ε) error (κ ≈ 10 here). A synthetic
    /// design's minimizer zeroes the gradient to its rounding. `start.at` accepts it.
    @Test func leastSquaresMinimizer() throws {
        let xs = [0.0, 1, 2, 3, 4, 5.5], ys = [1.0, 2.9, 5.2, 7.1, 8.8, 12.0]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exit-region-\(ProcessInfo.processInfo.processIdentifier)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = "one,x,y\n" + zip(xs, ys).map { "1,\($0),\($1)" }.joined(separator: "\n")
        try csv.write(to: dir.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        let text = """
        name = "lsq"
        [landscape]
        builtin = "linear-regression"
        csv = "data.csv"
        [start]
        at = "least-squares minimizer"
        [exit]
        distance_from_start = 0.02
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = 0.05
        paths = 200
        max_steps = 1000000
        """
        let spec = try JobSpec.parse(text, baseDirectory: dir)
        let n = Double(xs.count), mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        let slope = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        let intercept = my - slope * mx
        #expect(abs(spec.first.start[0] - intercept) <= 1e-12 * abs(intercept) && abs(spec.first.start[1] - slope) <= 1e-12 * slope, "\(spec.first.start) vs [\(intercept), \(slope)]")
        let point = try #require(spec.first.landscape.criticalPoints.first)
        let residual = zip(xs, ys).reduce(0) { $0 + 0.5 * pow(intercept + slope * $1.0 - $1.1, 2) } / n
        #expect(point.kind == .minimum && abs(point.value - residual) <= 1e-12 * residual)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        print("least-squares minimizer: mean exit from the 0.02-ball \(cells[0].mean ?? .nan) iterations")
        #expect(cells[0].exited + cells[0].censored == 200 && cells[0].exitSides.map(\.label) == ["‖θ − θ₀‖ >= 0.02"])

        let synthetic = try JobSpec.parse("""
        name = "lsq-synthetic"
        [landscape]
        builtin = "linear-regression"
        samples = 100
        dimension = 3
        [start]
        at = "least-squares minimizer"
        [exit]
        loss_above = 1
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = 0.05
        """)
        let g = synthetic.first.landscape.gradient(at: synthetic.first.start)
        let scale = synthetic.first.landscape.gradient(at: synthetic.first.start.map { $0 + 1 }).map(abs).max()!
        // backward error of QR: ‖Aᵀr‖/n within n·d·ε of the gradient's scale ‖A‖²·O(1)
        #expect(g.allSatisfy { abs($0) <= 300 * Double.ulpOfOne * scale }, "∇L at the minimizer \(g), scale \(scale)")
        // a rank-deficient design (n < d) names no minimizer
        let wide = try JobSpec.parse(text.replacingOccurrences(of: "csv = \"data.csv\"", with: "samples = 2\ndimension = 3")
                                         .replacingOccurrences(of: "at = \"least-squares minimizer\"", with: "point = [0, 0, 0]"), baseDirectory: dir)
        #expect(wide.first.landscape.criticalPoints.isEmpty)
    }

    /// A network (`two-layer`, 16 parameters) takes both exits: the loss row of the exit test
    /// and the 16-D ball; every path is accounted for, and one seed gives the same cells on
    /// 1 and 2 threads.
    @Test func networkExits() throws {
        func job(_ exit: String) -> String {
            """
            name = "net"
            seed = 2
            [landscape]
            builtin = "two-layer"
            samples = 16
            input_dimension = 3
            width = 4
            [start]
            point = 0
            [exit]
            \(exit)
            [[experiment]]
            name = "sgd"
            dynamics = "sgd"
            learning_rate = 0.2
            paths = 64
            max_steps = 20000
            """
        }
        let l0 = try JobSpec.parse(job("distance_from_start = 1"), checkCells: false).first.landscape.value(at: Array(repeating: 0, count: 16))
        for exit in ["loss_above = \(1.1 * l0)", "distance_from_start = 0.3"] {
            let text = job(exit)
            let one = try Self.run(text, threads: 1), two = try Self.run(text, threads: 2)
            let c = one[0]
            print("two-layer, \(exit): exited \(c.exited), censored \(c.censored), mean \(c.mean ?? .nan)")
            #expect(c.exited + c.censored + c.diverged == 64 && c.exitSides.count == 1)
            #expect(one[0].json(timings: false) == two[0].json(timings: false))
        }
    }

    /// 2-D backward-Kolmogorov accepts both exits: on V = (x² + y²)/2 from the minimum,
    /// `loss_above = c` and `distance_from_start = √(2c)` are the same disc, so the grid's
    /// absorbing nodes are the same and the two solves agree to rounding (1e-9 relative). The
    /// radial closed form T = ½ Σ_{k≥1} Uᵏ/(k·k!), U = R²/(2ε) (docs/THEORY.md §1's MFPT in
    /// radial form) lies within the grid's own Richardson error estimate of them.
    @Test func gridSolveOfTheDiscTwoWays() throws {
        func job(_ exit: String) -> String {
            """
            name = "disc"
            [landscape]
            potential = "(x^2 + y^2)/2"
            [start]
            point = [0, 0]
            [exit]
            \(exit)
            [[experiment]]
            name = "grid"
            dynamics = "langevin"
            method = "backward-kolmogorov"
            epsilon = 0.25
            nodes = 129
            domain = { lower = [-1.5, -1.5], upper = [1.5, 1.5] }
            """
        }
        let c = 0.5
        let a = try Self.run(job("loss_above = \(c)"))[0], b = try Self.run(job("distance_from_start = 1"))[0]
        let ta = try #require(a.mean), tb = try #require(b.mean)
        let u = 1 / (2 * 0.25)
        var series = 0.0, term = 1.0
        for k in 1...60 { term *= u / Double(k); series += term / Double(k) }
        print("disc exit, 2-D grid: loss \(ta) ± \(a.methodError ?? .nan), distance \(tb), radial closed form \(0.5 * series)")
        #expect(abs(ta - tb) <= 1e-9 * tb)
        #expect(abs(ta - 0.5 * series) <= (a.methodError ?? 0), "grid \(ta) ± \(a.methodError ?? .nan) vs \(0.5 * series)")
    }

    /// Bad exits name the key, the value and what is required.
    @Test func badExitsNameTheKey() throws {
        let head = """
        name = "bad"
        [landscape]
        builtin = "quadratic-sums"
        matrices = [[[1, 0], [0, 1]]]
        [start]
        point = [0.1, 0.1]
        [exit]

        """
        let tail = """

        [[experiment]]
        name = "e"
        dynamics = "sgd"
        learning_rate = 0.1
        """
        let cases: [(String, String)] = [
            ("loss_above = \"high\"", "exit.loss_above must be a number, got string"),
            ("distance_from_start = -1", "exit.distance_from_start must be > 0 (the radius r of ‖θ − θ₀‖ ≥ r), got -1"),
            ("distance_from_start = 1\nloss_above = 2", "exit has loss_above and distance_from_start; give exactly one"),
            ("loss_above = 0.001", "is already in the exit region (loss > 0.001)"),
            ("loss_above = 1", ""),
        ]
        for (exit, expected) in cases {
            let message = Self.parseError(head + exit + tail)
            if expected.isEmpty { #expect(message == nil, "\(message ?? "")") } else {
                #expect(message?.contains(expected) == true, "expected “\(expected)”, got \(message ?? "no error")")
            }
        }
        // the bridge test needs the boundary's gradient, which a finite sum's loss term lacks
        let bridge = head + "loss_above = 1" + tail.replacingOccurrences(of: "dynamics = \"sgd\"", with: "dynamics = \"sgd-sde\"\nexit_test = \"bridge\"\nnoise = { law = \"gaussian\", sigma = 1 }")
        #expect(Self.parseError(bridge)?.contains("loss_above on a finite sum") == true, "\(Self.parseError(bridge) ?? "no error")")
    }
}
