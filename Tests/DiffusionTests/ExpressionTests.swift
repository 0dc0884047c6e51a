import Foundation
import Testing
import TestSupport
@testable import Diffusion

// MARK: - Helpers


private let xyz = ["x", "y", "z"]

/// `Foundation.Expression` (swift-foundation's predicate expressions) shares the name.
private typealias Expression = Diffusion.Expression

private func parse(_ text: String, _ variables: [String] = xyz) throws -> Expression {
    try ExpressionParser.parse(text, variables: variables)
}

private func value(_ text: String, _ point: [Double] = [0, 0, 0]) throws -> Double {
    try parse(text).evaluate(at: point)
}

private func parseError(_ text: String, _ variables: [String] = ["x", "y"]) -> ExpressionError? {
    do {
        _ = try ExpressionParser.parse(text, variables: variables)
        return nil
    } catch {
        return error
    }
}

/// Bitwise equality, except that any two NaNs match (NaN payload/sign may legitimately differ,
/// e.g. `-x` vs `x*(-1)`).
private func sameBits(_ a: Double, _ b: Double) -> Bool {
    a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
}

/// Runs `program.evaluate(count:stride:…)` on `points` (array of points) with the given stride,
/// poisoning unused lanes and the workspace to catch out-of-range reads/writes.
private func runCompiled(_ program: CompiledProgram, points: [[Double]], stride: Int,
                         instructionSet: Int = MLP.laneInstructionSet) -> [[Double]] {
    let count = points.count
    var inputs = [Double](repeating: .nan, count: Swift.max(program.dimension * stride, 1))
    for (i, p) in points.enumerated() { for j in 0..<program.dimension { inputs[j * stride + i] = p[j] } }
    var outputs = [Double](repeating: -12345.0, count: Swift.max(program.outputCount * stride, 1))
    var workspace = [Double](repeating: .nan, count: Swift.max(program.registerCount * stride, 1))
    inputs.withUnsafeBufferPointer { inp in
        outputs.withUnsafeMutableBufferPointer { out in
            workspace.withUnsafeMutableBufferPointer { ws in
                program.evaluate(count: count, stride: stride, inputs: inp.baseAddress!, outputs: out.baseAddress!,
                                 workspace: ws.baseAddress!, instructionSet: instructionSet)
            }
        }
    }
    // Lanes past `count` must be untouched.
    for k in 0..<program.outputCount {
        for i in count..<stride { #expect(outputs[k * stride + i] == -12345.0) }
    }
    return points.indices.map { i in (0..<program.outputCount).map { outputs[$0 * stride + i] } }
}

/// All expression-language tests live under this suite (`swift test --filter ExpressionTests`).
@Suite enum ExpressionTests {}

// MARK: - Parsing and precedence

extension ExpressionTests {
@Suite struct Parsing {
    @Test func unaryMinusBindsLooserThanPower() throws {
        #expect(try value("-x^2", [3]) == -9)
        #expect(try value("-2^2") == -4)
        #expect(try value("(-2)^2") == 4)
        #expect(try value("2^-1") == 0.5)
        #expect(try value("-x", [3]) == -3)
        #expect(try value("+x", [3]) == 3)
        #expect(try value("- -x", [3]) == 3)
    }

    @Test func powerIsRightAssociative() throws {
        #expect(try value("2^3^2") == 512)
        #expect(try value("(2^3)^2") == 64)
    }

    @Test func arithmeticPrecedenceAndAssociativity() throws {
        #expect(try value("1 - 2 - 3") == -4)
        #expect(try value("8 / 4 / 2") == 1)
        #expect(try value("2*3 + 4*5") == 26)
        #expect(try value("2*(3 + 4)*5") == 70)
        #expect(try value("\t 1 +\n2 ") == 3)
    }

    @Test func numberLiterals() throws {
        #expect(try value("1") == 1)
        #expect(try value("0.5") == 0.5)
        #expect(try value(".5") == 0.5)
        #expect(try value("1e-3") == 1e-3)
        #expect(try value("2.5E+4") == 25_000)
        #expect(try value("3.") == 3)
        #expect(try parse("-1.5") == .constant(-1.5))
    }

    @Test func doubleWellValues() throws {
        let e = try parse("x^4/4 - x^2/2", ["x"])
        for x in [0.0, 1, -1, 2, -1.5, 0.25] {
            let x2 = x * x  // x^4 is evaluated as (x*x)*(x*x)
            let expected: Double = x2 * x2 / 4 - x2 / 2
            #expect(e.evaluate(at: [x]) == expected)
        }
        #expect(e.evaluate(at: [1]) == -0.25)
        #expect(e.evaluate(at: [2]) == 2)
        let e2 = try parse("x^4/4 - x^2/2 + 2*y^2")
        #expect(e2.evaluate(at: [1, 3]) == -0.25 + 18)
        #expect(e2.usesVariables == [0, 1])
    }

    @Test func functionsAndConstants() throws {
        #expect(try value("min(3, -1)") == -1)
        #expect(try value("max(3, -1)") == 3)
        #expect(try value("abs(-2.5)") == 2.5)
        #expect(try value("if(x > 0, 1, 2)", [1]) == 1)
        #expect(try value("if(x > 0, 1, 2)", [-1]) == 2)
        #expect(try value("pi") == Double.pi)
        #expect(try value("e") == M_E)
        #expect(try value("sqrt(16)") == 4)
        #expect(try value("exp(0)") == 1)
        #expect(try value("log(1)") == 0)
        #expect(try value("sin(0) + cos(0) + tanh(0)") == 1)
        #expect(try value("sign(-3) + 10*sign(2) + 100*sign(0)") == 9)
        #expect(try value("exp(log(x))", [2]) == Foundation.exp(Foundation.log(2.0)))
        // A variable named like a constant shadows it.
        #expect(try ExpressionParser.parse("e + 1", variables: ["e"]).evaluate(at: [5]) == 6)
    }

    @Test func comparisonTruthTables() throws {
        let cases: [(String, [Double])] = [  // expected for (x,y) = (1,2), (2,2), (3,2)
            ("x < y", [1, 0, 0]), ("x <= y", [1, 1, 0]), ("x > y", [0, 0, 1]),
            ("x >= y", [0, 1, 1]), ("x == y", [0, 1, 0]), ("x != y", [1, 0, 1]),
        ]
        for (text, expected) in cases {
            let e = try parse(text)
            #expect([1.0, 2, 3].map { e.evaluate(at: [$0, 2]) } == expected, "\(text)")
        }
    }

    @Test func booleanTruthTables() throws {
        let and = try parse("x && y"), or = try parse("x || y"), not = try parse("!x")
        for a in [0.0, 1, -2.5] {
            for b in [0.0, 1, 3] {
                #expect(and.evaluate(at: [a, b]) == ((a != 0 && b != 0) ? 1 : 0))
                #expect(or.evaluate(at: [a, b]) == ((a != 0 || b != 0) ? 1 : 0))
            }
            #expect(not.evaluate(at: [a]) == (a == 0 ? 1 : 0))
        }
        // `!` binds looser than comparisons: !x > 0 == !(x > 0).
        #expect(try value("!x > 0", [1]) == 0)
        #expect(try value("!x > 0", [-1]) == 1)
        // && binds tighter than ||.
        #expect(try value("1 || 0 && 0") == 1)
        #expect(try value("(1 || 0) && 0") == 0)
        #expect(try value("x > 0 && y > 0 || x < -1", [-2, -2]) == 1)
        #expect(try value("x > 0 && y > 0 || x < -1", [1, -2]) == 0)
        #expect(try value("x + 1 > 2*y", [3, 1.5]) == 1)
    }

    @Test func descriptionReparsesToTheSameTree() throws {
        let texts = [
            "x^4/4 - x^2/2 + 2*y^2", "-x^2", "(-x)^2", "2^3^2", "(2^3)^2", "x - (y - z)", "x/(y*z)", "x*y/z",
            "-(-x)", "x - -3", "x^-3", "(-3)^2", "-3^2", "2*-3", "!x", "!(x > 1) && y < 2 || z == 0",
            "(x < 1) + 1", "(x < 1) < 2", "x < (y < 1)", "if(x < 1 || y, min(x, 1e-300), max(y, -0.1))",
            "exp(-x^2)*sin(pi*y) + log(1 + z^2)", "abs(x)^0.5", "(!x)*2", "1.5e300*x",
        ]
        for text in texts {
            let e = try parse(text)
            let printed = e.description
            let reparsed = try ExpressionParser.parse(printed, variables: try ExpressionParser.inferVariables(printed))
            #expect(reparsed == e, "\(text) printed as \(printed)")
        }
        #expect(try parse("x^4/4 - x^2/2").description == "x^4/4 - x^2/2")
        #expect(try parse("x1 + x4", ["x1", "x2", "x3", "x4"]).description == "x1 + x4")
        #expect(try parse("a*b", ["a", "b"]).formatted(variables: ["a", "b"]) == "a*b")
    }
}
}

// MARK: - Derivatives

extension ExpressionTests {
@Suite struct Derivatives {
    @Test func doubleWellGradientIsExact() throws {
        let v = try parse("x^4/4 - x^2/2", ["x"])
        let d = v.derivative(withRespectTo: 0)
        #expect(d == (try parse("x^3 - x", ["x"])))
        for x in [-2.0, -1, -0.3, 0, 0.7, 1, 1.9, 123.25] {
            #expect(d.evaluate(at: [x]) == x * x * x - x)
        }
    }

    @Test func hessianOfTwoDimensionalWell() throws {
        let v = try parse("x^4/4 - x^2/2 + 2*y^2", ["x", "y"])
        let g = v.gradient(dimension: 2)
        #expect(g[0] == (try parse("x^3 - x", ["x", "y"])))
        #expect(g[1] == (try parse("4*y", ["x", "y"])))
        let h = g.map { gi in (0..<2).map { gi.derivative(withRespectTo: $0) } }
        #expect(h[0][0] == (try parse("3*x^2 - 1", ["x", "y"])))
        #expect(h[0][1] == .constant(0))
        #expect(h[1][0] == .constant(0))
        #expect(h[1][1] == .constant(4))
        for x in [-1.5, 0.0, 2.0] { #expect(h[0][0].evaluate(at: [x, 7]) == 3 * (x * x) - 1) }
    }

    @Test func chainRules() throws {
        // Simplification may reorder products, so compare with relative tolerance 1e-15 (a few ulps).
        func close(_ a: Double, _ b: Double) -> Bool { Swift.abs(a - b) <= 1e-15 * Swift.max(Swift.abs(a), Swift.abs(b), 1e-300) * 4 }
        let cases: [(String, Int, ([Double]) -> Double)] = [
            ("exp(2*x)", 0, { 2 * Foundation.exp(2 * $0[0]) }),
            ("log(x^2 + 1)", 0, { 2 * $0[0] / ($0[0] * $0[0] + 1) }),
            ("sin(x*y)", 0, { $0[1] * Foundation.cos($0[0] * $0[1]) }),
            ("cos(x*y)", 1, { -$0[0] * Foundation.sin($0[0] * $0[1]) }),
            ("tanh(3*x)", 0, { 3 * (1 - Foundation.pow(Foundation.tanh(3 * $0[0]), 2)) }),
            ("sqrt(x^2 + y^2)", 1, { $0[1] / ($0[0] * $0[0] + $0[1] * $0[1]).squareRoot() }),
            ("x^y", 0, { $0[1] * Foundation.pow($0[0], $0[1] - 1) }),
            ("x^y", 1, { Foundation.pow($0[0], $0[1]) * Foundation.log($0[0]) }),
            ("2^x", 0, { Foundation.pow(2, $0[0]) * Foundation.log(2.0) }),
            ("x/y", 1, { -$0[0] / ($0[1] * $0[1]) }),
            ("exp(-x^2/2)*y", 0, { -$0[0] * Foundation.exp(-$0[0] * $0[0] / 2) * $0[1] }),
        ]
        var rng = SplitMix64(seed: 7)
        for (text, variable, expected) in cases {
            let d = try parse(text).derivative(withRespectTo: variable)
            for _ in 0..<20 {
                let p = [rng.uniform(0.2, 2), rng.uniform(0.2, 2)]
                #expect(close(d.evaluate(at: p), expected(p)), "d/d\(variable) \(text) = \(d) at \(p)")
            }
        }
    }

    @Test func nonSmoothAndLogicalRules() throws {
        let dabs = try parse("abs(x)").derivative(withRespectTo: 0)
        #expect([-2.0, 0, 3].map { dabs.evaluate(at: [$0]) } == [-1, 0, 1])
        let dmin = try parse("min(x, 2*x)").derivative(withRespectTo: 0)
        #expect(dmin.evaluate(at: [1]) == 1)   // x <= 2x → d/dx x
        #expect(dmin.evaluate(at: [-1]) == 2)  // 2x < x → d/dx 2x
        let dmax = try parse("max(x, 2*x)").derivative(withRespectTo: 0)
        #expect(dmax.evaluate(at: [1]) == 2)
        #expect(dmax.evaluate(at: [-1]) == 1)
        let dif = try parse("if(x > 0, x^2, -x)").derivative(withRespectTo: 0)
        #expect(dif.evaluate(at: [3]) == 6)
        #expect(dif.evaluate(at: [-3]) == -1)
        for text in ["x > 0", "x && y", "!x", "x == y", "sign(x)"] {
            #expect(try parse(text).derivative(withRespectTo: 0) == .constant(0), "\(text)")
        }
        // Integer powers stay powers: negative bases differentiate fine.
        let dcube = try parse("x^3").derivative(withRespectTo: 0)
        #expect(dcube == (try parse("3*x^2")))
        #expect(dcube.evaluate(at: [-2]) == 12)
        #expect(try parse("x^2").derivative(withRespectTo: 0) == (try parse("2*x")))
        #expect(try parse("y^2 + 3").derivative(withRespectTo: 0) == .constant(0))
    }

    @Test func derivativesMatchCentralDifferences() throws {
        let texts = [
            "x^4/4 - x^2/2 + 2*y^2", "exp(-x^2 - y^2)*sin(3*x)", "log(1 + x^2 + y^4)", "sqrt(1 + x^2*y^2)",
            "tanh(x - 2*y)^2", "x^3*y - y^3/(1 + x^2)", "cos(x*y)/(2 + sin(y))", "(1 + x^2)^1.5 + (2 + y)^y",
        ]
        var rng = SplitMix64(seed: 42)
        for text in texts {
            let f = try parse(text, ["x", "y"])
            for variable in 0..<2 {
                let df = f.derivative(withRespectTo: variable)
                for _ in 0..<25 {
                    let p = [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)]
                    let h = 1e-5
                    var plus = p, minus = p
                    plus[variable] += h
                    minus[variable] -= h
                    let fd = (f.evaluate(at: plus) - f.evaluate(at: minus)) / (2 * h)
                    let exact = df.evaluate(at: p)
                    // Central-difference error is h²/6·|f'''| (~1e-10·|f'''|) plus rounding ~1e-16·|f|/h (~1e-11·|f|).
                    let tolerance = 1e-7 * (1 + Swift.abs(f.evaluate(at: p)) + Swift.abs(exact))
                    #expect(Swift.abs(fd - exact) <= tolerance, "d/d\(variable) \(text) at \(p): \(exact) vs \(fd)")
                }
            }
        }
    }

    @Test func simplificationRules() throws {
        #expect(try parse("x*1 + 0*y").simplified() == .variable(0))
        #expect(try parse("x^1 - 0").simplified() == .variable(0))
        #expect(try parse("x^0").simplified() == .constant(1))
        #expect(try parse("2*(3*x)").simplified() == (try parse("6*x")))
        #expect(try parse("1 + 2*3").simplified() == .constant(7))
        #expect(try parse("-(-x)").simplified() == .variable(0))
        #expect(try parse("0 - x").simplified() == (try parse("-x")))
        #expect(try parse("if(1 > 0, x, y)").simplified() == .variable(0))
        #expect(try parse("min(x, x)").simplified() == .variable(0))
        #expect(try parse("if(x > y, 1, 0)").simplified() == (try parse("x > y")))
        #expect(try parse("if(x > y, 0, 1)").simplified() == (try parse("!(x > y)")))
        #expect(try parse("(6*x)/(4*y)").simplified() == (try parse("1.5*x/y")))
    }
}
}

// MARK: - Compiled programs

extension ExpressionTests {
@Suite struct Compiled {
    static let expressions = [
        "x^4/4 - x^2/2 + 2*y^2", "x^3 - x", "x/3 + y/4 - z/0.1", "3 - x", "x - 2", "2^x + x^0.5", "x^-2 + y^5",
        "x^7 - y^20 + z^70", "x^y", "if(x > y, min(x, z), max(y, -z))", "(x < 0.5) + (y >= 0) - (x == x) + (z != 1)",
        "x > 0 && y < 1 || !(z > 0)", "abs(x) + sign(y)", "tanh(x)*sin(y)*cos(z)", "exp(-x^2)*log(abs(y) + 1)",
        "sqrt(x^2 + y^2 + z^2)", "x*x + -(-y)", "(x*-1)*(y*1)", "(2 + 3)*x + 1/(1 + y^2)", "7",
        "(0.5 < x) + (1 >= y) - (0 == z) + (2 != x) + (x <= -1) + (y > 0)", "if(x > 0, x, 0) + (x > 0)*2 + (0.25 > x)",
    ]

    /// Points in [-3, 3]^3 plus signed zeros and, from the fifth on, every eighth point made of
    /// special values (NaN, ±∞, ±0, subnormal, huge).
    static func points(_ n: Int, seed: UInt64) -> [[Double]] {
        var rng = SplitMix64(seed: seed)
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 5e-324, -1e308, 1e308, -1, 1]
        return (0..<n).map { i in
            if i == 3 { return [0, -0.0, 0] }
            if i >= 4 && i % 8 == 4 { return (0..<3).map { k in specials[(i / 8 + 3 * k) % specials.count] } }
            return (0..<3).map { _ in rng.uniform(-3, 3) }
        }
    }

    @Test func matchesReferenceEvaluatorBitForBit() throws {
        // The C block evaluator performs ExpressionMath's operations one for one and the compiler
        // only applies IEEE-exact rewrites, so results are identical, not merely close: on every
        // instruction set, at special values too.
        for text in Self.expressions {
            let e = try parse(text)
            let program = CompiledProgram(outputs: [e], dimension: 3)
            for (count, stride) in [(1, 1), (1, 4), (7, 7), (7, 11), (64, 64), (64, 70)] {
                let pts = Self.points(count, seed: UInt64(count * 1000 + stride))
                for isa in 0...MLP.bestLaneInstructionSet {
                    let got = runCompiled(program, points: pts, stride: stride, instructionSet: isa)
                    for (p, out) in zip(pts, got) {
                        let ref = e.evaluate(at: p)
                        #expect(sameBits(out[0], ref), "\(text) at \(p), isa \(isa): compiled \(out[0]) vs reference \(ref)")
                    }
                }
            }
        }
    }

    /// A comparison with a constant reads it as an immediate in the block evaluator (one pass,
    /// not a loadConst pass and a compare pass), unless the constant's register is read again.
    @Test func constantComparisonsFold() throws {
        #expect(CompiledProgram(outputs: [try parse("x > 0")], dimension: 3).encoded.count == 1)
        #expect(CompiledProgram(outputs: [try parse("0.5 <= x")], dimension: 3).encoded.count == 1)
        // 0.5 is shared by both comparisons (one register, loaded once): nothing is dropped
        let shared = CompiledProgram(outputs: [try parse("(x > 0.5) + (y > 0.5)")], dimension: 3)
        #expect(shared.encoded.count == shared.instructions.count)
    }

    @Test func multiOutputGradientProgramsWithCSE() throws {
        for text in ["x^4/4 - x^2/2 + 2*y^2", "exp(-x^2 - y^2)*sin(3*x*z)", "log(1 + x^2 + y^4) + (x - z)^3",
                     "sqrt(1 + x^2*y^2*z^2)", "tanh(x - 2*y + z)^2"] {
            let v = try parse(text)
            let outputs = [v] + (0..<3).map { v.derivative(withRespectTo: $0) }
            let program = CompiledProgram(outputs: outputs, dimension: 3)
            #expect(program.outputCount == 4)
            let separate = outputs.map { CompiledProgram(outputs: [$0], dimension: 3).instructions.count }
            #expect(program.instructions.count <= separate.reduce(0, +))
            for (count, stride) in [(1, 2), (7, 9), (64, 65)] {
                let pts = Self.points(count, seed: UInt64(count))
                let got = runCompiled(program, points: pts, stride: stride)
                for (p, out) in zip(pts, got) {
                    for k in 0..<4 {
                        #expect(sameBits(out[k], outputs[k].evaluate(at: p)), "\(text) output \(k) at \(p)")
                    }
                }
            }
        }
    }

    @Test func commonSubexpressionsAreShared() throws {
        let program = CompiledProgram(outputs: [try parse("x^2 + y^2"), try parse("2*x^2"), try parse("exp(x^2) + x^2")],
                                      dimension: 2)
        let squaresOfX = program.instructions.filter { if case .square(_, .input(0)) = $0 { return true } else { return false } }
        #expect(squaresOfX.count == 1)
        // Derivatives keep the potential's subtrees verbatim (sin(3*x*z) is not re-associated to
        // sin(3*(x*z))), so the potential+gradient program computes 3*x and sin/cos arguments once.
        let v = try parse("exp(-x^2 - y^2)*sin(3*x*z)")
        let grad = CompiledProgram(outputs: [v] + (0..<3).map { v.derivative(withRespectTo: $0) }, dimension: 3)
        let threeX = grad.instructions.filter { if case .mulConst(_, .input(0), 3) = $0 { return true } else { return false } }
        #expect(threeX.count == 1)
        #expect(grad.instructions.filter { if case .exp = $0 { return true } else { return false } }.count == 1)
        // Identical outputs and input/constant outputs are copies.
        let p2 = CompiledProgram(outputs: [try parse("x^3"), try parse("x^3"), .variable(1), .constant(2.5)], dimension: 2)
        #expect(p2.evaluate(at: [2, 9]) == [8, 8, 9, 2.5])
        #expect(p2.instructions.count == 4)
    }

    @Test func doubleWellGradientCompilesToTwoInstructions() throws {
        let g = try parse("x^4/4 - x^2/2", ["x"]).derivative(withRespectTo: 0)
        let program = CompiledProgram(outputs: [g], dimension: 1)
        let expected: [Instruction] = [.cube(.register(0), .input(0)), .sub(.output(0), .register(0), .input(0))]
        #expect(program.instructions == expected)
        #expect(program.registerCount == 1)
    }

    @Test func exactRewritesOnly() throws {
        // x/4 → multiply by 0.25 (exact); x/3 stays a division.
        let p = CompiledProgram(outputs: [try parse("x/4"), try parse("x/3"), try parse("x - 2"), try parse("3 - x")],
                                dimension: 1)
        #expect(p.instructions.contains(Instruction.mulConst(.output(0), .input(0), 0.25)))
        #expect(p.instructions.contains(Instruction.divByConst(.output(1), .input(0), 3)))
        #expect(p.instructions.contains(Instruction.addConst(.output(2), .input(0), -2)))
        #expect(p.instructions.contains(Instruction.constSubtract(.output(3), 3, .input(0))))
        // Constant subtrees fold away entirely.
        let folded = CompiledProgram(outputs: [try parse("(2 + 3)*x")], dimension: 1)
        #expect(folded.instructions == [Instruction.mulConst(.output(0), .input(0), 5)])
    }

    @Test func registersAreReused() throws {
        let text = (1...12).map { "sin(x*\($0))" }.joined(separator: " + ")
        let program = CompiledProgram(outputs: [try parse(text)], dimension: 1)
        #expect(program.registerCount <= 4)
        let x = 0.37
        #expect(sameBits(program.evaluate(at: [x])[0], try parse(text).evaluate(at: [x])))
    }

    @Test func concurrentUseFromManyThreads() throws {
        let v = try parse("x^4/4 - x^2/2 + 2*y^2 + exp(-z^2)")
        let outputs = (0..<3).map { v.derivative(withRespectTo: $0) }
        let program = CompiledProgram(outputs: outputs, dimension: 3)
        let pts = Self.points(256, seed: 99)
        let expected = pts.map { p in outputs.map { $0.evaluate(at: p) } }
        let mismatches = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let got = runCompiled(program, points: pts, stride: 260)
            for (g, e) in zip(got, expected) where !zip(g, e).allSatisfy(sameBits) { mismatches.increment() }
        }
        #expect(mismatches.value == 0)
    }
}
}

private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

// MARK: - Variables, conditions, errors, fuzzing

extension ExpressionTests {
@Suite struct FrontEnd {
    @Test func inferVariables() throws {
        #expect(try ExpressionParser.inferVariables("x^2 + y") == ["x", "y"])
        #expect(try ExpressionParser.inferVariables("y^2") == ["x", "y"])
        #expect(try ExpressionParser.inferVariables("z + exp(x)") == ["x", "y", "z"])
        #expect(try ExpressionParser.inferVariables("x3 + x1") == ["x1", "x2", "x3"])
        #expect(try ExpressionParser.inferVariables("x12") == (1...12).map { "x\($0)" })
        #expect(try ExpressionParser.inferVariables("sin(pi*x) + e") == ["x"])
        #expect(try ExpressionParser.inferVariables("1 + 2") == [])
        func failure(_ text: String) -> ExpressionError? {
            do { _ = try ExpressionParser.inferVariables(text); return nil } catch { return error }
        }
        let mixed = failure("x + x2")
        #expect(mixed?.column == 5)
        #expect(mixed?.message.contains("'x2'") == true)
        #expect(failure("x + w") == ExpressionError(message: "unknown variable 'w'", column: 5))
        #expect(failure("foo(x)") == ExpressionError(message: "unknown function 'foo'", column: 1))
        #expect(failure("x0 + 1")?.message == "unknown variable 'x0'")
        #expect(failure("x # 1")?.column == 3)
    }

    @Test func parseConditionSplitsTopLevelOr() throws {
        let terms = try ExpressionParser.parseCondition("x > 0 || y < -1", variables: ["x", "y"])
        #expect(terms.map(\.label) == ["x > 0", "y < -1"])
        #expect(terms[0].level == .variable(0))
        #expect(terms[1].level == (try parse("-1 - y", ["x", "y"])))
        #expect(terms[0].expression.evaluate(at: [0.5, 0]) == 1)
        #expect(terms[0].expression.evaluate(at: [-0.5, 0]) == 0)
        #expect(terms[1].expression.evaluate(at: [0, -2]) == 1)
        #expect(terms[1].level!.evaluate(at: [0, -2]) == 1)

        let nested = try ExpressionParser.parseCondition("  (x > 0 || y > 0) && x < 1  ", variables: ["x", "y"])
        #expect(nested.count == 1)
        #expect(nested[0].label == "(x > 0 || y > 0) && x < 1")
        #expect(nested[0].level == nil)

        let mixed = try ExpressionParser.parseCondition("x >= 1||x<=-2 || x == 0.5 || !(y > 0)", variables: ["x", "y"])
        #expect(mixed.map(\.label) == ["x >= 1", "x<=-2", "x == 0.5", "!(y > 0)"])
        #expect(mixed[0].level == (try parse("x - 1", ["x", "y"])))
        #expect(mixed[1].level == (try parse("-2 - x", ["x", "y"])))
        #expect(mixed[2].level == nil)
        #expect(mixed[3].level == nil)

        let paren = try ExpressionParser.parseCondition("(x^2 + y^2 > 4)", variables: ["x", "y"])
        #expect(paren[0].label == "(x^2 + y^2 > 4)")
        #expect(paren[0].level == (try parse("x^2 + y^2 - 4", ["x", "y"])))

        func failure(_ text: String) -> ExpressionError? {
            do { _ = try ExpressionParser.parseCondition(text, variables: ["x"]); return nil } catch { return error }
        }
        #expect(failure("x > 0 ||")?.column == 7)
        #expect(failure("|| x > 0")?.column == 1)
        #expect(failure("")?.message == "empty expression")
        #expect(failure("x > 0 || (x < 1")?.message == "expected ')'")
    }

    @Test func errorMessagesWithColumns() throws {
        let cases: [(String, String, Int)] = [
            ("x + w", "unknown variable 'w'", 5),
            ("foo(x)", "unknown function 'foo'", 1),
            ("(x + 1", "expected ')'", 7),
            ("x # 2", "unexpected character '#'", 3),
            ("min(x)", "'min' takes 2 arguments, got 1", 1),
            ("max(1, 2, x)", "'max' takes 2 arguments, got 3", 1),
            ("exp()", "'exp' takes 1 argument, got 0", 1),
            ("", "empty expression", 1),
            ("   ", "empty expression", 1),
            ("x +", "unexpected end of expression", 4),
            ("x * (y", "expected ')'", 7),
            ("x )", "unmatched ')'", 3),
            ("x y", "unexpected 'y'", 3),
            ("2x", "unexpected 'x' after number (use '*' to multiply)", 2),
            ("x = 1", "unexpected character '=' (use '==' to compare)", 3),
            ("x & y", "unexpected character '&' (use '&&')", 3),
            ("exp + 1", "function 'exp' needs arguments in parentheses", 1),
            ("0 < x < 1", "chained comparison; combine comparisons with '&&'", 7),
            ("1e999", "number out of range", 1),
            ("é + x", "unexpected character 'é'", 1),
            ("x * * y", "unexpected '*'", 5),
            ("min(x,, y)", "unexpected ','", 7),
            ("x * !y", "'!' must be applied to a condition; use parentheses, e.g. '(!a)'", 5),
        ]
        for (text, message, column) in cases {
            let error = parseError(text)
            #expect(error == ExpressionError(message: message, column: column), "\(text): \(String(describing: error))")
        }
        #expect(parseError("x + w")?.description == "column 5: unknown variable 'w'")
    }

    @Test func depthLimits() throws {
        let deepParens = String(repeating: "(", count: 5000) + "x" + String(repeating: ")", count: 5000)
        #expect(parseError(deepParens)?.message.contains("nested too deeply") == true)
        let deepMinus = String(repeating: "-", count: 5000) + "x"
        #expect(parseError(deepMinus) != nil)
        let deepNot = String(repeating: "!", count: 5000) + "x"
        #expect(parseError(deepNot) != nil)
        let deepPow = Array(repeating: "x", count: 5000).joined(separator: "^")
        #expect(parseError(deepPow) != nil)
        // a long flat chain is not deep: it is built balanced (ExpressionChainTests)
        let longSum = Array(repeating: "x", count: 5000).joined(separator: "+")
        #expect(try value(longSum, [1]) == 5000)
        // Moderate nesting is fine.
        let ok = String(repeating: "(", count: 150) + "x" + String(repeating: ")", count: 150)
        #expect(try parse(ok) == .variable(0))
        let okSum = Array(repeating: "x", count: 500).joined(separator: "+")
        #expect(try value(okSum, [1]) == 500)
    }

    @Test func fuzzedInputsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let fragments = ["x", "y", "z", "w", "1", "2.5", "1e-3", ".", "e", "pi", "+", "-", "*", "/", "^", "(", ")", ",",
                         "<", "<=", ">", ">=", "==", "!=", "!", "&&", "||", "=", "&", "|", "exp(", "min(", "max(",
                         "if(", "abs(", "sqrt(", "log(", "foo(", " ", "\t", "#", "é", "🙂", "\u{0}", "1e", "E+"]
        let seeds = ["x^4/4 - x^2/2 + 2*y^2", "if(x > 0 && y < 1, min(x, y), -max(z, 2^x))", "exp(-x^2)*sin(pi*y)",
                     "x > 0 || y < -1", "!(x == 1) && abs(z) >= 0.5"]
        var parsed = 0
        for iteration in 0..<3000 {
            var text: String
            switch iteration % 3 {
            case 0:  // random fragments
                text = (0..<(1 + rng.int(12))).map { _ in fragments[rng.int(fragments.count)] }.joined()
            case 1:  // mutated valid expression
                var scalars = Array(seeds[rng.int(seeds.count)].unicodeScalars)
                for _ in 0..<(1 + rng.int(3)) {
                    let pos = rng.int(scalars.count + 1)
                    switch rng.int(3) {
                    case 0 where pos < scalars.count: scalars.remove(at: pos)
                    case 1: scalars.insert(fragments[rng.int(fragments.count)].unicodeScalars.first!, at: pos)
                    default: if pos < scalars.count { scalars[pos] = Unicode.Scalar(UInt8(32 + rng.int(95))) }
                    }
                }
                text = String(String.UnicodeScalarView(scalars))
            default:  // random bytes, decoded leniently
                let bytes = (0..<rng.int(20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                text = String(decoding: bytes, as: UTF8.self)
            }
            _ = try? ExpressionParser.inferVariables(text)
            _ = try? ExpressionParser.parseCondition(text, variables: xyz)
            if let e = try? parse(text) {
                parsed += 1
                // Whatever parses must print to text that parses back to the same tree…
                #expect(try parse(e.description) == e, "\(text) → \(e.description)")
                // …differentiate and simplify without trouble, and compile to the same values.
                _ = e.derivative(withRespectTo: 0).description
                let p = [rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-2, 2)]
                let compiled = CompiledProgram(outputs: [e], dimension: 3).evaluate(at: p)[0]
                #expect(sameBits(compiled, e.evaluate(at: p)), "\(text) at \(p)")
            }
        }
        #expect(parsed > 100)
    }
}
}
