import Foundation
import Testing
import TestSupport
@testable import Jobs
@testable import Diffusion

/// Random and mutated job specs: parsing and cell planning must return or throw a
/// `SpecError`, never crash or hang (a crash would end the test process). Bounded: a fixed
/// number of inputs from fixed seeds, a few seconds in release.
@Suite struct SpecFuzzTests {
    static let seeds: [String] = [
        """
        \(SpecFixtures.doubleWell(name: "double-well", seed: 1))
        [[experiment]]
        name = "langevin"
        dynamics = "langevin"
        epsilon = [0.2, 0.1]
        dt = 1e-3
        paths = 100
        max_steps = 1000
        exit_test = "bridge"
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = [0.01, 0.05]
        batch_size = 2
        noise = { law = "student-t", sigma = 1.0, nu = 5 }
        [[experiment]]
        name = "exact"
        dynamics = "sgd-sde"
        method = "backward-kolmogorov"
        learning_rate = 0.05
        noise = { law = "hessian", scale = 1.0 }
        """,
        """
        name = "sharp"
        [landscape]
        builtin = "sharp-flat"
        h_sharp = 8.0
        h_flat = 1.0
        [start]
        at = "sharp minimum"
        [exit]
        basin = true
        [[experiment]]
        name = "levy"
        dynamics = "levy"
        epsilon = 0.5
        alpha = [1.5, 1.8]
        [[experiment]]
        name = "kramers"
        dynamics = "langevin"
        method = "theory"
        theory = "kramers"
        epsilon = 0.1
        """,
        """
        name = "sums"
        [landscape]
        builtin = "quadratic-sums"
        matrices = [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 0.0], [0.0, 3.0]]]
        [start]
        point = [0.1, 0.2]
        [exit]
        ball = { center = [0.0, 0.0], radius = 2.0 }
        [[experiment]]
        name = "sgd"
        dynamics = "sgd"
        learning_rate = 0.1
        batch_size = 1
        replacement = false
        [[experiment]]
        name = "stab"
        dynamics = "sgd"
        method = "theory"
        theory = "stability"
        learning_rate = 0.1
        """,
    ]

    static let replacements = ["-1", "0", "1e308", "-1e308", "nan", "inf", "\"x\"", "[]", "[1, \"a\"]", "{}", "true",
                               "3.5", "2", "\"x^\"", "\"sin(\"", "\"x > \"", "[0.0]", "[0.0, 0.0, 0.0]", "1_000_000_000_000",
                               "\"gaussian\"", "\"finite-sum\"", "\"bridge\"", "\"chain\"", "\"minimum-action\"", "-0.0"]

    func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + rng.int(3)) {
            guard !lines.isEmpty else { break }
            let k = rng.int(lines.count)
            switch rng.int(6) {
            case 0: lines.remove(at: k)
            case 1: lines.insert(lines[rng.int(lines.count)], at: k)
            case 2:
                if let eq = lines[k].firstIndex(of: "=") {
                    lines[k] = String(lines[k][...eq]) + " " + Self.replacements[rng.int(Self.replacements.count)]
                }
            case 3:
                var chars = Array(lines[k])
                if !chars.isEmpty { chars.remove(at: rng.int(chars.count)) }
                lines[k] = String(chars)
            case 4:
                var chars = Array(lines[k])
                let pool = Array("[]{}=\"'#,.-+e0123456789xyz_ \t\\")
                chars.insert(pool[rng.int(pool.count)], at: chars.isEmpty ? 0 : rng.int(chars.count))
                lines[k] = String(chars)
            default: lines.swapAt(k, rng.int(lines.count))
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: [1, 2, 3, 4])
    func mutatedSpecsNeverCrash(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9)
        var parsed = 0, rejected = 0
        for i in 0..<600 {
            let text = mutate(Self.seeds[i % Self.seeds.count], &rng)
            do {
                let spec = try JobSpec.parse(text)
                parsed += 1
                let runner = JobRunner(spec: spec, threads: 1)
                for (e, c) in runner.cells.prefix(8) {
                    // a spec that parses has had every cell checked: each cell's problem builds
                    do { _ = try spec.cellProblem(experiment: e, cell: c) } catch { Issue.record("parsed spec, unbuildable cell: \(error)") }
                }
            } catch {
                rejected += 1
                #expect(!error.description.contains("\n"), "multi-line error: \(error)")
            }
        }
        // both outcomes occur: the mutations are neither all harmless nor all fatal
        #expect(parsed > 0 && rejected > 0)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            let bytes = (0..<rng.int(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(throws: SpecError.self) { try JobSpec.parse(text) }
        }
    }
}
