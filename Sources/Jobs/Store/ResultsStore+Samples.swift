import GRDB

extension ResultsStore {
    /// One cell's per-path samples, in path order: the step count, the time (steps × the
    /// cell's time scale) and the outcome label (an exit side's label, "censored" or "diverged").
    public struct CellSamples: Sendable {
        public var steps: [Int] = []
        public var times: [Double] = []
        public var outcomes: [String] = []
        public var count: Int { steps.count }
        public init(steps: [Int] = [], times: [Double] = [], outcomes: [String] = []) {
            self.steps = steps; self.times = times; self.outcomes = outcomes
        }
    }

    /// Reads one cell's samples (empty for deterministic cells).
    public func samples(experimentIndex e: Int, cellIndex c: Int) throws -> CellSamples {
        try queue.read { db in
            var out = CellSamples()
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT steps, time, outcome FROM sample WHERE experiment_index = ? AND cell_index = ? ORDER BY path
                """, arguments: [e, c])
            while let r = try cursor.next() {
                out.steps.append(r[0]); out.times.append(r[1]); out.outcomes.append(r[2])
            }
            return out
        }
    }
}
