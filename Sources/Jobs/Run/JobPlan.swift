import Foundation

/// What a job will do, from its spec alone (`sgd-escape check`): its experiments, their
/// methods and cells, the paths each simulates and, where the method can state one, an upper
/// bound on the path-steps (Monte Carlo: paths × max_steps per cell, every path censored).
public struct JobPlan: Sendable {
    public struct Experiment: Sendable {
        public let name: String
        public let dynamics: String
        public let method: String
        public let kind: MethodKind
        public let cells: Int
        /// Σ over cells of paths (simulation and sampling methods; 0 otherwise).
        public let paths: Int
        /// Σ over cells of the method's path-step bound (nil: the method states none).
        public let maxPathSteps: Double?
    }

    public let job: String
    public let seed: UInt64
    public let experiments: [Experiment]

    public init(spec: JobSpec) {
        job = spec.name
        seed = spec.seed
        experiments = spec.experiments.map { e in
            var paths = 0, steps: Double? = nil
            for c in 0..<e.cellCount {
                let plan = e.method.plan(e.cellParameters(c))
                paths += plan.paths
                if let bound = plan.maxPathSteps { steps = (steps ?? 0) + bound }
            }
            return Experiment(name: e.name, dynamics: e.dynamics.rawValue, method: e.methodName, kind: e.methodKind,
                              cells: e.cellCount, paths: paths, maxPathSteps: steps)
        }
    }

    public var cells: Int { experiments.reduce(0) { $0 + $1.cells } }

    /// The plan as text: one line per experiment, then the totals.
    public var text: String {
        func count(_ x: Double) -> String { x < 1e6 ? String(Int(x)) : String(format: "%.3g", x) }
        var rows = [["experiment", "dynamics", "method", "kind", "cells", "paths", "path-steps (at most)"]]
        for e in experiments {
            rows.append([e.name, e.dynamics, e.method, e.kind.rawValue, String(e.cells), e.paths > 0 ? String(e.paths) : "",
                         e.maxPathSteps.map(count) ?? ""])
        }
        let widths = (0..<rows[0].count).map { k in rows.map { $0[k].count }.max()! }
        var lines = ["job \(job), seed \(seed): the spec is valid; \(cells) cells in \(experiments.count) experiments"]
        for row in rows {
            lines.append(zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingTrailingSpaces())
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
