import GRDB
import Diffusion

extension ResultsStore {
    /// One cell's per-path samples, in path order: the step count, the time (steps × the
    /// cell's time scale) and the outcome as `ExitSamples` codes — 0 for an exit (any side),
    /// `ExitSamples.censored` or `ExitSamples.diverged`. Codes, not the stored labels, so a
    /// 10⁶-path cell costs 20 bytes a path and no string per path.
    public struct CellSamples: Sendable {
        public var steps: [Int] = []
        public var times: [Double] = []
        public var outcomes: [Int32] = []
        public var count: Int { steps.count }
        public init(steps: [Int] = [], times: [Double] = [], outcomes: [Int32] = []) {
            self.steps = steps; self.times = times; self.outcomes = outcomes
        }
    }

    /// Reads one cell's samples (empty for deterministic cells).
    public func samples(experimentIndex e: Int, cellIndex c: Int) throws -> CellSamples {
        try queue.read { db in
            var out = CellSamples()
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT steps, time, CASE outcome WHEN 'censored' THEN ? WHEN 'diverged' THEN ? ELSE 0 END
                FROM sample WHERE experiment_index = ? AND cell_index = ? ORDER BY path
                """, arguments: [ExitSamples.censored, ExitSamples.diverged, e, c])
            while let r = try cursor.next() {
                guard let steps = Int.fromDatabaseValue(r[0]), let time = Double.fromDatabaseValue(r[1]),
                      let outcome = Int32.fromDatabaseValue(r[2]) else {
                    throw StoreError("\(path) is damaged: a sample of experiment \(e + 1), cell \(c + 1) is unreadable")
                }
                out.steps.append(steps); out.times.append(time); out.outcomes.append(outcome)
            }
            return out
        }
    }
}
