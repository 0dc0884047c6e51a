internal import CGSL
import Foundation

/// Matrix-free curvature of an MLP at a point: every estimator uses only Hessian (or
/// Gauss–Newton) vector products of cost O(n d) each (docs/THEORY.md §7).
extension MLP {
    /// `experiment` components of the stream keys of the curvature estimators.
    static let lanczosExperiment = 0x4D_4C51, hutchinsonExperiment = 0x4D_4C52, alignmentExperiment = 0x4D_4C53

    /// The largest eigenvalue of H found by Lanczos.
    public struct EigenvalueEstimate: Sendable, Equatable {
        /// The top Ritz value θ₁ (largest algebraic eigenvalue of the Lanczos tridiagonal).
        public let value: Double
        /// Lanczos steps taken (Hessian–vector products: `iterations + 1`, the last for the residual).
        public let iterations: Int
        /// ‖H y − θ₁ y‖ for the unit Ritz vector y, recomputed with one extra product; by the
        /// Kahan–Parlett bound some eigenvalue of H lies within it of θ₁.
        public let residual: Double
        /// True when the residual met `tolerance·max(1, |θ₁|)` or the Krylov space became invariant.
        public let converged: Bool
    }

    /// A Hutchinson estimate of a Frobenius norm with its standard error.
    public struct FrobeniusNormEstimate: Sendable, Equatable {
        /// ‖A‖_F = √(mean of ‖A v‖²).
        public let value: Double
        /// Delta method: `SE(√X̄) ≈ SE(X̄)/(2√X̄)`; 0 when exact.
        public let standardError: Double
        /// The estimate of ‖A‖²_F (the unbiased mean of the ‖A v‖²).
        public let squared: Double
        /// Its standard error, `s/√m` from the sample standard deviation s of the m terms.
        public let squaredStandardError: Double
        /// Probes used (d when exact, through the unit vectors).
        public let probes: Int
        public let exact: Bool
    }

    /// The alignment factor μ with its error bar.
    public struct AlignmentEstimate: Sendable, Equatable {
        public let loss: Double
        /// Tr(ΣG) and its standard error (0 when every sample was used).
        public let noiseCurvatureTrace: Double
        public let noiseCurvatureTraceStandardError: Double
        /// ‖G‖_F (Hutchinson or exact).
        public let gaussNewtonFrobeniusNorm: FrobeniusNormEstimate
        /// μ = Tr(ΣG)/(2L‖G‖²_F); nil when L < `LocalGeometry.alignmentLossFloor`, ‖G‖ = 0 or not finite.
        public let alignment: Double?
        /// Delta method for a ratio of independent estimates:
        /// `SE(μ) ≈ |μ| √((SE_T/T)² + (SE_F/F)²)`, T = Tr(ΣG), F = ‖G‖²_F.
        public let standardError: Double?
        /// True for cross-entropy (G := H), false for square loss (G the Gauss–Newton matrix).
        public let gaussNewtonIsHessian: Bool
        /// Samples i in the Tr(ΣG) average (n when exact).
        public let tracePoints: Int
    }

    // MARK: - Lanczos

    /// The largest algebraic eigenvalue of `H = ∇²L(θ)` by the Lanczos method with full
    /// reorthogonalisation (Lanczos 1950; Golub & Van Loan, *Matrix Computations*, §10.1 and
    /// §10.3.1; Ghorbani, Krishnan & Xiao, ICML 2019, for network Hessians).
    ///
    /// Start from a N(0, I) vector (stream `StreamKey(seed:, experiment: 0x4D4C51)`), build the
    /// orthonormal Krylov basis v₁…v_j (each new vector Gram–Schmidt'ed twice against all
    /// previous ones) and the tridiagonal `T_j` (α on the diagonal, β off it); its top
    /// eigenvalue θ₁ (`gsl_eigen_symmv`) with eigenvector s has the residual estimate
    /// `β_j |s_j|`. Stops when that estimate is ≤ `tolerance·max(1, |θ₁|)`, when β_j vanishes
    /// (the Krylov space is invariant: θ₁ is exact), or after `maxIterations` steps (capped at
    /// d). The returned residual is recomputed as ‖Hy − θ₁y‖.
    ///
    /// Cost: one Hessian–vector product (O(n d)) per step plus one, O(j d) per step for the
    /// reorthogonalisation and O(j³) for T_j; memory `maxIterations × d` doubles for the basis.
    /// θ₁ never exceeds λ_max(H) (Cauchy interlacing), so an unconverged value is a lower bound.
    public func topHessianEigenvalue(at theta: [Double], tolerance: Double = 1e-10, maxIterations: Int = 100,
                                     seed: UInt64 = 0) -> EigenvalueEstimate {
        let d = dimension
        precondition(theta.count == d && tolerance > 0 && maxIterations >= 1)
        let steps = min(maxIterations, d)
        var basis = [Double](repeating: 0, count: (steps + 1) * d)
        var w = [Double](repeating: 0, count: d)
        var alphas: [Double] = [], betas: [Double] = []
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: MLP.lanczosExperiment))
        var top = 0.0, ritz: [Double] = [1], converged = false
        theta.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            basis.withUnsafeMutableBufferPointer { vb in
                w.withUnsafeMutableBufferPointer { wb in
                    let v = vb.baseAddress!, wp = wb.baseAddress!
                    stream.fillNormals(v, count: d)
                    MLP.normalise(v, d)
                    for j in 0..<steps {
                        let vj = v + j * d
                        hessianVectorProduct(at: t, vector: vj, into: wp)
                        let alpha = MLP.dot(vj, wp, d)
                        alphas.append(alpha)
                        // full reorthogonalisation, twice ("twice is enough": Parlett)
                        for _ in 0..<2 {
                            for q in 0...j {
                                let vq = v + q * d
                                let c = MLP.dot(vq, wp, d)
                                for k in 0..<d { wp[k] -= c * vq[k] }
                            }
                        }
                        let beta = MLP.dot(wp, wp, d).squareRoot()
                        (top, ritz) = MLP.topTridiagonalEigenpair(alphas, betas)
                        let estimate = beta * abs(ritz[j])
                        if beta <= 1e-14 * max(1, abs(top)) || estimate <= tolerance * max(1, abs(top)) {
                            converged = true
                            break
                        }
                        if j + 1 == steps { break }
                        betas.append(beta)
                        let next = v + (j + 1) * d
                        for k in 0..<d { next[k] = wp[k] / beta }
                    }
                }
            }
        }
        // Ritz vector y = V s and its true residual
        let m = alphas.count
        var y = [Double](repeating: 0, count: d), hy = [Double](repeating: 0, count: d)
        for q in 0..<m { for k in 0..<d { y[k] += ritz[q] * basis[q * d + k] } }
        let norm = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for k in 0..<d { y[k] /= norm }
        theta.withUnsafeBufferPointer { t in
            y.withUnsafeBufferPointer { yb in
                hy.withUnsafeMutableBufferPointer { hessianVectorProduct(at: t.baseAddress!, vector: yb.baseAddress!, into: $0.baseAddress!) }
            }
        }
        var r2 = 0.0
        for k in 0..<d { let r = hy[k] - top * y[k]; r2 += r * r }
        let residual = r2.squareRoot()
        return EigenvalueEstimate(value: top, iterations: m, residual: residual,
                                  converged: converged || residual <= tolerance * max(1, abs(top)))
    }

    /// Top eigenvalue and unit eigenvector of the symmetric tridiagonal matrix with diagonal
    /// `alphas` (j entries) and off-diagonal `betas` (j − 1), by `gsl_eigen_symmv`.
    static func topTridiagonalEigenpair(_ alphas: [Double], _ betas: [Double]) -> (Double, [Double]) {
        let j = alphas.count
        if j == 1 { return (alphas[0], [1]) }
        GSL.prepare()
        let m = gsl_matrix_calloc(j, j)!, values = gsl_vector_alloc(j)!, vectors = gsl_matrix_alloc(j, j)!
        let work = gsl_eigen_symmv_alloc(j)!
        defer { gsl_matrix_free(m); gsl_vector_free(values); gsl_matrix_free(vectors); gsl_eigen_symmv_free(work) }
        for r in 0..<j {
            gsl_matrix_set(m, r, r, alphas[r])
            if r + 1 < j { gsl_matrix_set(m, r, r + 1, betas[r]); gsl_matrix_set(m, r + 1, r, betas[r]) }
        }
        let status = gsl_eigen_symmv(m, values, vectors, work)
        precondition(status == 0, "gsl_eigen_symmv failed on a \(j)×\(j) tridiagonal (status \(status))")
        var best = 0
        for r in 1..<j where gsl_vector_get(values, r) > gsl_vector_get(values, best) { best = r }
        return (gsl_vector_get(values, best), (0..<j).map { gsl_matrix_get(vectors, $0, best) })
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int) -> Double {
        var s = 0.0
        for k in 0..<d { s += a[k] * b[k] }
        return s
    }

    static func normalise(_ a: UnsafeMutablePointer<Double>, _ d: Int) {
        let n = dot(a, a, d).squareRoot()
        for k in 0..<d { a[k] /= n }
    }

    // MARK: - Hutchinson

    /// `‖H‖_F` at θ by Hutchinson's estimator (Hutchinson, "A stochastic estimator of the trace
    /// of the influence matrix for Laplacian smoothing splines", Comm. Stat. Sim. Comp. 19,
    /// 1990), applied to `H²`: for Rademacher v (i.i.d. ±1), `E‖Hv‖² = E vᵀH²v = Tr H² = ‖H‖²_F`,
    /// unbiased, with `Var ‖Hv‖² = 2(‖H²‖²_F − Σ_k (H²)²_kk)`. The mean X̄ of m probes
    /// (stream `StreamKey(seed:, experiment: 0x4D4C52)`) has standard error s/√m from the
    /// sample standard deviation s; the norm √X̄ has `SE ≈ SE(X̄)/(2√X̄)` (delta method; √X̄ is
    /// biased low by about `Var X̄ /(8 X̄^{3/2})`, Jensen). `probes == nil` gives the exact norm
    /// from the d unit vectors (`Σ_k ‖H e_k‖²`). Cost: m (or d) products of O(n d).
    public func hessianFrobeniusNorm(at theta: [Double], probes: Int? = 100, seed: UInt64 = 0) -> FrobeniusNormEstimate {
        frobeniusNorm(at: theta, probes: probes, seed: seed, experiment: MLP.hutchinsonExperiment, gaussNewton: false)
    }

    func frobeniusNorm(at theta: [Double], probes: Int?, seed: UInt64, experiment: Int,
                       gaussNewton: Bool) -> FrobeniusNormEstimate {
        let d = dimension
        precondition(theta.count == d)
        if let probes { precondition(probes >= 2, "Hutchinson needs at least 2 probes for a standard error") }
        let m = probes ?? d
        var v = [Double](repeating: 0, count: d), hv = [Double](repeating: 0, count: d)
        var sum = 0.0, sumSquares = 0.0
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: experiment))
        theta.withUnsafeBufferPointer { tb in
            v.withUnsafeMutableBufferPointer { vb in
                hv.withUnsafeMutableBufferPointer { hb in
                    let vp = vb.baseAddress!, hp = hb.baseAddress!
                    for probe in 0..<m {
                        if probes == nil {
                            for k in 0..<d { vp[k] = k == probe ? 1 : 0 }
                        } else {
                            for k in 0..<d { vp[k] = stream.uniform() < 0.5 ? -1 : 1 }
                        }
                        curvatureProduct(at: tb.baseAddress!, vector: vp, samples: nil, gaussNewton: gaussNewton, into: hp)
                        let x = MLP.dot(hp, hp, d)
                        sum += x
                        sumSquares += x * x
                    }
                }
            }
        }
        if probes == nil {
            return FrobeniusNormEstimate(value: sum.squareRoot(), standardError: 0, squared: sum, squaredStandardError: 0,
                                         probes: d, exact: true)
        }
        let mean = sum / Double(m)
        let variance = max(0, (sumSquares - Double(m) * mean * mean) / Double(m - 1))
        let se = (variance / Double(m)).squareRoot()
        let value = mean.squareRoot()
        return FrobeniusNormEstimate(value: value, standardError: value > 0 ? se / (2 * value) : 0, squared: mean,
                                     squaredStandardError: se, probes: m, exact: false)
    }

    // MARK: - Alignment

    /// The alignment factor of Wu, Wang & Su (2022) as `LocalGeometry` defines it
    /// (docs/THEORY.md §3): `μ = Tr(Σ G)/(2 L ‖G‖²_F)`, with G the Gauss–Newton matrix
    /// `(1/n) Σ JᵢᵀJᵢ` for square loss and G := H for cross-entropy; Σ the per-sample gradient
    /// covariance. Matrix-free:
    ///
    /// - L and ḡ = ∇L exactly (n backward passes).
    /// - `Tr(ΣG) = (1/n) Σᵢ (gᵢ − ḡ)ᵀ G (gᵢ − ḡ)`: with `tracePoints == nil` (or ≥ n) every
    ///   sample is used, exact (n G-products, O(n² d)); otherwise an unbiased Monte-Carlo mean
    ///   over `tracePoints` indices drawn uniformly with replacement (stream
    ///   `StreamKey(seed:, experiment: 0x4D4C53)`), standard error s/√m.
    /// - `‖G‖²_F` by Hutchinson with `probes` Rademacher vectors (stream `experiment: 0x4D4D52`),
    ///   or exact from the d unit vectors when `probes == nil`.
    /// - μ with the delta-method error of a ratio of independent estimates,
    ///   `SE(μ) ≈ |μ| √((SE_T/T)² + (SE_F/F)²)`; the ratio is biased at order `1/m` (second-order
    ///   delta term), small next to its SE for the probe counts here.
    ///
    /// With both paths exact it equals `localGeometry(at:)`'s alignment to rounding.
    public func alignment(at theta: [Double], tracePoints: Int? = nil, probes: Int? = 100,
                          seed: UInt64 = 0) -> AlignmentEstimate {
        let d = dimension, n = sampleCount
        precondition(theta.count == d)
        let gaussNewton = loss == .square
        var mean = [Double](repeating: 0, count: d)
        var lossValue = 0.0
        theta.withUnsafeBufferPointer { tb in
            mean.withUnsafeMutableBufferPointer { mb in
                for i in 0..<n {
                    lossValue += sampleLoss(i, at: tb.baseAddress!)
                    addSampleGradient(i, at: tb.baseAddress!, scale: 1 / Double(n), into: mb.baseAddress!)
                }
            }
        }
        lossValue /= Double(n)
        let exactTrace = tracePoints == nil || tracePoints! >= n
        let m = exactTrace ? n : tracePoints!
        precondition(m >= 2 || exactTrace, "a sampled trace needs at least 2 points")
        let stream = RandomStream(key: StreamKey(seed: seed, experiment: MLP.alignmentExperiment))
        var centred = [Double](repeating: 0, count: d), product = [Double](repeating: 0, count: d)
        var sum = 0.0, sumSquares = 0.0
        theta.withUnsafeBufferPointer { tb in
            centred.withUnsafeMutableBufferPointer { cb in
                product.withUnsafeMutableBufferPointer { pb in
                    let t = tb.baseAddress!, c = cb.baseAddress!, p = pb.baseAddress!
                    for point in 0..<m {
                        let i = exactTrace ? point : stream.index(below: n)
                        for k in 0..<d { c[k] = -mean[k] }
                        addSampleGradient(i, at: t, scale: 1, into: c)
                        curvatureProduct(at: t, vector: c, samples: nil, gaussNewton: gaussNewton, into: p)
                        let x = MLP.dot(c, p, d)
                        sum += x
                        sumSquares += x * x
                    }
                }
            }
        }
        let trace = sum / Double(m)
        let traceSE = exactTrace ? 0 : (max(0, (sumSquares - Double(m) * trace * trace) / Double(m - 1)) / Double(m)).squareRoot()
        let frobenius = frobeniusNorm(at: theta, probes: probes, seed: seed, experiment: MLP.hutchinsonExperiment &+ 0x100,
                                      gaussNewton: gaussNewton)
        let f = frobenius.squared
        let mu = trace / (2 * lossValue * f)
        let defined = lossValue >= LocalGeometry.alignmentLossFloor && f > 0 && mu.isFinite
        var se: Double? = nil
        if defined {
            let a = trace != 0 ? traceSE / trace : 0, b = frobenius.squaredStandardError / f
            se = abs(mu) * (a * a + b * b).squareRoot()
        }
        return AlignmentEstimate(loss: lossValue, noiseCurvatureTrace: trace, noiseCurvatureTraceStandardError: traceSE,
                                 gaussNewtonFrobeniusNorm: frobenius, alignment: defined ? mu : nil,
                                 standardError: se, gaussNewtonIsHessian: !gaussNewton, tracePoints: m)
    }
}
