import Foundation

/// A user-given per-sample gradient-noise covariance Σ₁(θ) as expressions of the landscape's
/// variables (noise law `covariance`, docs/THEORY.md §0): one expression in 1-D, d rows of d
/// expressions in d dimensions, compiled into one register program (row-major outputs) that
/// the Monte Carlo stepper evaluates for a block of paths at once.
///
/// Σ₁ must be symmetric positive semi-definite wherever the dynamics go; `violation(at:)`
/// names the point and the expression where it is not (checked at the start when a spec is
/// read, on the grid before a backward-Kolmogorov solve, and per step in a simulation, where
/// a violation ends the path as diverged).
public struct CovarianceMatrix: Sendable, Equatable, CustomStringConvertible {
    public let dimension: Int
    /// The expression texts, row-major d×d.
    public let sources: [String]
    /// No entry reads a variable: Σ₁ is the same everywhere (a 1-D one then gives Gaussian
    /// increments of fixed variance, `NoiseModel.stepNoise`).
    public let isConstant: Bool
    let program: CompiledProgram

    /// Parses `rows` (d rows of d expressions) over `variables` and the landscape's named
    /// `constants` — the one place noise expressions are parsed, so the names an expression
    /// may use are decided here. Throws a `CovarianceMatrixError` naming the entry
    /// (`[i][j]`, 1-based) for a bad shape or an expression that does not parse.
    public init(rows: [[String]], variables: [String], constants: [String: Double] = [:]) throws(CovarianceMatrixError) {
        let d = variables.count
        guard rows.count == d, rows.allSatisfy({ $0.count == d }) else {
            let shape = "\(rows.count) row(s) of \(rows.map { String($0.count) }.joined(separator: ", ")) entries"
            throw CovarianceMatrixError(d == 1
                ? "must be one expression (the variance Σ₁(x)) for a 1-D landscape, got \(shape)"
                : "must be \(d) rows of \(d) expressions (Σ₁ over the variables \(variables.joined(separator: ", "))), got \(shape)")
        }
        var expressions: [Expression] = []
        for (i, row) in rows.enumerated() {
            for (j, text) in row.enumerated() {
                do { expressions.append(try ExpressionParser.parse(text, variables: variables, constants: constants)) } catch {
                    let entry = d == 1 ? "" : "entry [\(i + 1)][\(j + 1)] "
                    throw CovarianceMatrixError("\(entry)\"\(text)\": \(error)")
                }
            }
        }
        dimension = d
        sources = rows.flatMap { $0 }
        isConstant = expressions.allSatisfy { $0.usesVariables.isEmpty }
        program = CompiledProgram(outputs: expressions, dimension: d)
    }

    /// The same expressions read on `landscape` (its variables and its cell's named constants:
    /// a swept `[landscape.constants]` value or a built-in's key such as `h_sharp`).
    public func on(_ landscape: Landscape) throws(CovarianceMatrixError) -> CovarianceMatrix {
        let rows = (0..<dimension).map { r in Array(sources[(r * dimension)..<((r + 1) * dimension)]) }
        return try CovarianceMatrix(rows: rows, variables: landscape.variables, constants: landscape.constants)
    }

    public static func == (lhs: CovarianceMatrix, rhs: CovarianceMatrix) -> Bool {
        lhs.dimension == rhs.dimension && lhs.sources == rhs.sources
    }

    /// `"1 + x^2"` in 1-D, `[["a", "b"], ["c", "d"]]` in d dimensions.
    public var description: String {
        if dimension == 1 { return "\"\(sources[0])\"" }
        let rows = (0..<dimension).map { r in
            "[" + (0..<dimension).map { "\"\(sources[r * dimension + $0])\"" }.joined(separator: ", ") + "]"
        }
        return "[" + rows.joined(separator: ", ") + "]"
    }

    /// Workspace rows the batched evaluation needs.
    var registerCount: Int { program.registerCount }

    /// Σ₁(θ), row-major d×d, symmetrised as (A + Aᵀ)/2 (allocates).
    public func evaluate(at point: [Double]) -> [Double] {
        let a = program.evaluate(at: point)
        let d = dimension
        if d == 1 { return a }
        var s = a
        for r in 0..<d { for c in 0..<d { s[r * d + c] = 0.5 * (a[r * d + c] + a[c * d + r]) } }
        return s
    }

    /// Relative tolerance of the semi-definiteness and symmetry checks: a negative eigenvalue
    /// (or an asymmetry) counts only beyond this times the largest |entry| (rounding in the
    /// expressions and the eigen-solver is ~1e-16 relative).
    static let tolerance = 1e-12

    /// Why Σ₁ is not a covariance at `point` — an entry not finite, asymmetric, or a negative
    /// eigenvalue — naming the point and the matrix; nil where it is symmetric positive
    /// semi-definite.
    public func violation(at point: [Double]) -> String? {
        let a = program.evaluate(at: point)
        let d = dimension
        let at = "at θ = \(CovarianceMatrix.format(point))"
        guard a.allSatisfy(\.isFinite) else {
            return "Σ₁ = \(self) is not finite \(at): \(CovarianceMatrix.format(a))"
        }
        let scale = max(a.map(abs).max() ?? 0, Double.leastNormalMagnitude)
        for r in 0..<d {
            for c in (r + 1)..<max(d, r + 1) where abs(a[r * d + c] - a[c * d + r]) > CovarianceMatrix.tolerance * scale {
                return "Σ₁ = \(self) is not symmetric \(at): entry [\(r + 1)][\(c + 1)] = \(a[r * d + c]), [\(c + 1)][\(r + 1)] = \(a[c * d + r])"
            }
        }
        let eigenvalues: [Double]
        if d == 1 { eigenvalues = a } else {
            guard let e = try? TheoryNumerics.symmetricEigenvalues(evaluate(at: point), dimension: d) else {
                return "Σ₁ = \(self): eigenvalues could not be computed \(at)"
            }
            eigenvalues = e
        }
        if let smallest = eigenvalues.min(), smallest < -CovarianceMatrix.tolerance * scale {
            return d == 1
                ? "Σ₁ = \(self) = \(String(format: "%.6g", smallest)) < 0 \(at): a variance must be ≥ 0"
                : "Σ₁ = \(self) is not positive semi-definite \(at): smallest eigenvalue \(String(format: "%.6g", smallest))"
        }
        return nil
    }

    static func format(_ v: [Double]) -> String {
        "[" + v.map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]"
    }
}

/// A covariance matrix of the wrong shape or with an expression that does not parse.
public struct CovarianceMatrixError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
