import Foundation

/// `−𝓛_h` on the unknowns (the non-absorbing nodes), factorised, with its right-hand side.
///
/// The operator is also kept in its difference form, `(−𝓛_h f)_i = leakᵢ·fᵢ + Σⱼ cᵢⱼ(fᵢ − fⱼ)`
/// (cᵢⱼ ≥ 0 the stencil weights, leakᵢ = Σ c/θ over absorbing neighbours, zero away from the
/// exit), for the residuals of `solve`'s iterative refinement: the stored diagonal
/// `Σcᵢⱼ + leakᵢ` is rounded by ε_mach·Σcᵢⱼ ≈ ε_mach·8D/h², which acts as a spurious killing or
/// creation rate of that size everywhere; when the escape rate ~1/T is not much larger (the
/// relative error of a plain LU solve is ≈ ε_mach·(8D/h²)·T, the condition number of
/// metastable problems), the factorised solution is off in leading digits and can even be
/// negative. The difference form never forms that diagonal.
struct GridSystem {
    let lu: SparseLU
    let rhs: [Double]
    /// Per node (row-major, x fastest): its unknown's index, or −1 where absorbing.
    let unknown: [Int32]
    /// Per node: the Dirichlet value where absorbing (0 elsewhere).
    let boundary: [Double]
    let upwinded: Int
    let absorbingCount: Int
    /// Compressed rows of −𝓛_h (the same arrays the factorisation read) and each row's leak.
    let rowStarts: [Int32], columns: [Int32], entries: [Double], leak: [Double]

    /// Largest number of refinement steps; each is one residual and one pair of triangular solves.
    static let refinementSteps = 20
    /// A solve is trusted when its refinement contracted to a last correction ≤ √ε_mach·‖x‖∞
    /// (half the digits confirmed). Past ε_mach·cond(A) ≈ 1 the factorisation is no
    /// contraction and the refinement stalls far above that — measured on the separable
    /// double well at T ≈ 1e18: corrections of 5 % to 50 % of ‖x‖ around values near 0 —
    /// so the solvers throw (`Grid2DError.illConditioned`, `Grid3D`'s `GridError`) rather than return a number.
    static let acceptedRounding = Double.ulpOfOne.squareRoot()

    /// The refined solve of the assembled right-hand side (`solve`), as every node's value
    /// (absorbing nodes their Dirichlet data), and its rounding estimate. Allocates its vectors.
    func nodeValues() -> (values: [Double], rounding: Double) {
        let m = lu.n
        var x = [Double](repeating: 0, count: m), work = x, correction = x
        let rounding = rhs.withUnsafeBufferPointer { b in
            x.withUnsafeMutableBufferPointer { x in
                work.withUnsafeMutableBufferPointer { w in
                    correction.withUnsafeMutableBufferPointer { c in
                        solve(b.baseAddress!, into: x.baseAddress!, work: w.baseAddress!, correction: c.baseAddress!)
                    }
                }
            }
        }
        var values = boundary
        for node in values.indices where unknown[node] >= 0 { values[node] = x[Int(unknown[node])] }
        return (values, rounding)
    }

    /// x = A⁻¹b: the factorised solve, then iterative refinement with residuals in the
    /// difference form while the corrections shrink (Higham, *Accuracy and Stability of
    /// Numerical Algorithms*, 2nd ed., §12.1: refinement with a more accurate residual
    /// converges while ε_mach·cond(A) < 1, to the accuracy of the residual). Returns the
    /// relative size ‖δ‖∞/‖x‖∞ of the last correction computed — accepted or, when it did not
    /// shrink, left out — as the estimate of x's remaining rounding error (∞ if not finite).
    /// No allocation.
    func solve(_ b: UnsafePointer<Double>, into x: UnsafeMutablePointer<Double>,
               work: UnsafeMutablePointer<Double>, correction: UnsafeMutablePointer<Double>) -> Double {
        let m = lu.n
        lu.solve(b, into: x)
        var previous = Double.infinity, estimate = Double.infinity
        for _ in 0..<GridSystem.refinementSteps {
            rowStarts.withUnsafeBufferPointer { starts in
                columns.withUnsafeBufferPointer { cols in
                    entries.withUnsafeBufferPointer { vals in
                        leak.withUnsafeBufferPointer { leak in
                            for i in 0..<m {
                                let xi = x[i]
                                var ax = leak[i] * xi
                                for k in Int(starts[i])..<Int(starts[i + 1]) {
                                    let j = Int(cols[k])
                                    if j != i { ax -= vals[k] * (xi - x[j]) }  // vals[k] = −cᵢⱼ
                                }
                                work[i] = b[i] - ax
                            }
                        }
                    }
                }
            }
            lu.solve(UnsafePointer(work), into: correction)
            var size = 0.0, scale = 0.0
            for i in 0..<m {
                size = max(size, abs(correction[i]))
                scale = max(scale, abs(x[i]))
            }
            estimate = scale > 0 ? size / scale : (size == 0 ? 0 : .infinity)
            guard size.isFinite, size < previous else { break }  // stagnated at rounding level, or diverging
            for i in 0..<m { x[i] += correction[i] }
            previous = size
            if size <= 4 * Double.ulpOfOne * scale { break }
        }
        return estimate.isFinite ? estimate : .infinity
    }

    /// Fraction θ ∈ (0, 1] of the segment from an interior node (t = 0) to an absorbing one
    /// (t = 1) at which the exit predicate first holds, `exit(t)` the predicate at the point a
    /// fraction t along it (bisection, 2⁻⁴⁰ resolution; floored at 1e-9). The ghost value
    /// `f_ghost = g/θ + f_c(1 − 1/θ)` then extrapolates through the boundary point (Gibou et
    /// al., J. Comput. Phys. 176, 2002).
    static func boundaryFraction(exit: (Double) -> Bool) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<40 {
            let mid = 0.5 * (lo + hi)
            if exit(mid) { hi = mid } else { lo = mid }
        }
        return max(hi, 1e-9)
    }

    /// Appends `value` at `column` to the compressed row begun at `rowStart`, or adds it to the
    /// entry already there (a neighbour mirrored across a reflecting edge meets its partner).
    @inline(__always)
    static func add(_ value: Double, column: Int32, row rowStart: Int, columns: inout [Int32], entries: inout [Double]) {
        var k = rowStart
        while k < columns.count {
            if columns[k] == column { entries[k] += value; return }
            k += 1
        }
        columns.append(column); entries.append(value)
    }

    /// UMFPACK wants each compressed line's indices ascending: insertion sort of the row begun at
    /// `rowStart` (≤ 9 entries).
    @inline(__always)
    static func sortRow(from rowStart: Int, columns: inout [Int32], entries: inout [Double]) {
        var k = rowStart + 1
        while k < columns.count {
            let c = columns[k], v = entries[k]
            var q = k - 1
            while q >= rowStart && columns[q] > c { columns[q + 1] = columns[q]; entries[q + 1] = entries[q]; q -= 1 }
            columns[q + 1] = c; entries[q + 1] = v
            k += 1
        }
    }
}
