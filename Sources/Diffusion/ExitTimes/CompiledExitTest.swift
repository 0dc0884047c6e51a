import Foundation
internal import CKernels

/// The exit test compiled once per ensemble: one program for all term indicators, one
/// for the level functions and their gradients (bridge test). When a term reads a finite
/// sum's loss (`ExitProblem.lossVariable`), the indicators take the state augmented by L(θ)
/// as input row d, which the stepper fills before each test.
struct CompiledExitTest: Sendable {
    let indicators: CompiledProgram
    /// True when the indicators read L(θ) at input row d.
    let readsLoss: Bool
    /// For each term with a level function: g and ∂g/∂xⱼ, i.e. 1 + d outputs per term.
    let levels: CompiledProgram?
    /// Term index of each level function.
    let levelTerms: [Int]
    /// Distance −g/‖∇g‖ of the start point to each level boundary.
    let startDistances: [Double]
    /// 1/‖∇g‖ per level when every level function is affine (constant gradient): then
    /// `levels` outputs only the g values, one per term.
    let constantInverseNorms: [Double]?
    /// When the one level function is a coordinate plus a constant (g = x_j or x_j + c, as the
    /// compiled level program computes it: one `copy` or `addConst`), its row and constant:
    /// the bridge test then computes g inside its first pass (`sgd_bridge_near_offset`)
    /// instead of evaluating the program. The same operations, so the same bits.
    let coordinateLevel: (row: Int, offset: Double?)?
    /// Terms `‖x − c‖ ≥ r` tested natively (`fillDistances`); their `indicators` outputs are 0.
    let distanceTerms: [(term: Int, center: [Double], radius: Double)]

    init(terms: [ConditionTerm], dimension d: Int, start: [Double], bridge: Bool) {
        readsLoss = ExitProblem.lossVariable(terms, dimension: d) != nil
        precondition(!(readsLoss && bridge), "the bridge test needs the level's gradient; a finite sum's loss term has none compiled")
        distanceTerms = terms.indices.compactMap { t in
            terms[t].distance.flatMap { $0.center.count == d ? (t, $0.center, $0.radius) : nil }
        }
        let native = Set(distanceTerms.map(\.term))
        indicators = CompiledProgram(outputs: terms.indices.map { native.contains($0) ? .constant(0) : terms[$0].expression },
                                     dimension: readsLoss ? d + 1 : d)
        guard bridge else {
            levels = nil; levelTerms = []; startDistances = []; constantInverseNorms = nil; coordinateLevel = nil
            return
        }
        var outputs: [Expression] = []
        var which: [Int] = []
        var values: [Expression] = []
        var norms: [Double]? = []
        for (t, term) in terms.enumerated() {
            guard let g = term.level else { continue }
            which.append(t)
            outputs.append(g)
            values.append(g)
            let gradient = (0..<d).map { g.derivative(withRespectTo: $0) }
            outputs += gradient
            let constants = gradient.compactMap(\.constantValue)
            if constants.count == d, norms != nil {
                let n = constants.reduce(0) { $0 + $1 * $1 }.squareRoot()
                norms!.append(n > 0 ? 1 / n : 0)
            } else { norms = nil }
        }
        levelTerms = which
        if which.isEmpty {
            levels = nil; startDistances = []; constantInverseNorms = nil; coordinateLevel = nil
            return
        }
        let full = CompiledProgram(outputs: outputs, dimension: d).evaluate(at: start)
        startDistances = which.indices.map { l in
            CompiledExitTest.distance(full, base: l * (1 + d), dimension: d)
        }
        constantInverseNorms = norms
        let program = CompiledProgram(outputs: norms == nil ? outputs : values, dimension: d)
        levels = program
        switch (norms?.count, program.instructions.first, program.instructions.count) {
        case (1, .copy(.output(0), .input(let j)), 1): coordinateLevel = (j, nil)
        case (1, .addConst(.output(0), .input(let j), let c), 1): coordinateLevel = (j, c)
        default: coordinateLevel = nil
        }
    }

    /// The indicator rows of `distanceTerms` for lanes `0..<count` (`x[j*stride + i]`):
    /// 1 where `√(Σ_j (x_j − c_j)²) ≥ r`, the sum as eight partial sums over j mod 8 added
    /// pairwise (`sgd_block_squared_distance`, the same bits for every block width); O(d) per lane.
    @inline(__always)
    func fillDistances(count n: Int, stride w: Int, x: UnsafePointer<Double>, indicators out: UnsafeMutablePointer<Double>) {
        for (t, center, radius) in distanceTerms {
            let row = out + t * w
            center.withUnsafeBufferPointer { c in
                sgd_block_squared_distance(x, w, c.count, n, c.baseAddress, row, KernelInstructionSet.blocks)
            }
            for i in 0..<n { row[i] = row[i].squareRoot() >= radius ? 1 : 0 }
        }
    }

    static func distance(_ v: [Double], base: Int, dimension d: Int) -> Double {
        var n2 = 0.0
        for j in 0..<d { n2 += v[base + 1 + j] * v[base + 1 + j] }
        return n2 > 0 ? -v[base] / n2.squareRoot() : .infinity
    }
}
