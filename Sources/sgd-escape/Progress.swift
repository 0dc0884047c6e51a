import Foundation
import Jobs
import Reporting
import Synchronization

/// Set by SIGINT: the run stops after the cell in progress, with every finished cell
/// committed. A second Ctrl-C (the default action, restored by the first) ends it at once.
let interrupted = Atomic<Bool>(false)

func installInterruptHandler() {
    // a parent may have started us with SIGINT blocked (signal masks are inherited)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    signal(SIGINT) { _ in
        interrupted.store(true, ordering: .relaxed)
        // shown even with --quiet; write(2) is async-signal-safe and a StaticString needs no allocation
        let note: StaticString = "\ninterrupt received: stopping after the cells in progress (Ctrl-C again to stop at once)\n"
        _ = write(STDERR_FILENO, note.utf8Start, note.utf8CodeUnitCount)
        signal(SIGINT, SIG_DFL)
    }
}

/// Progress on stderr: a live bar on a terminal (cells done/total, path-steps/s, ETA),
/// one plain line per finished cell otherwise; nothing with --quiet.
final class ProgressDisplay {
    let total: Int
    let quiet: Bool
    let terminal = isatty(STDERR_FILENO) != 0
    let clock = ContinuousClock()
    let start: ContinuousClock.Instant
    var done = 0
    var pathSteps = 0.0

    init(total: Int, alreadyDone: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
        self.done = alreadyDone
        start = clock.now
        if terminal && !quiet { render(last: nil) }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    private var elapsed: Double {
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    func cellFinished(_ cell: Cell) {
        done += 1
        pathSteps += Double(cell.pathSteps)
        guard !quiet else { return }
        if terminal {
            render(last: cell)
        } else {
            let mean = cell.mean.map { String(format: "%.6g", $0) } ?? cell.lowerBound.map { String(format: "≥ %.6g", $0) } ?? "n/a"
            let se = cell.standardError.map { String(format: "%.2g", $0) } ?? "n/a"
            let params = cell.parameters.map { "\($0.key)=\(TextTable.number($0.value))" }.joined(separator: " ")
            let tailIndex = cell.quantity("tail_index")
            let result = if let failure = cell.failure {
                "failed: \(failure)"
            } else if cell.allDiverged {
                "all \(cell.paths) paths diverged (no exit time)"
            } else if cell.methodKind != .sampling {
                "mean \(mean) ± \(se) \(cell.timeUnit.rawValue)"
            } else if let tailIndex {
                "tail index \(String(format: "%.4g", tailIndex))"
            } else {
                "ended in exit region \(cell.exited), outside \(cell.censored), diverged \(cell.diverged)"
            }
            write("[\(done)/\(total)] \(cell.experiment) \(params): \(result) (\(String(format: "%.2f", cell.wallSeconds)) s)\n")
        }
    }

    private func render(last: Cell?) {
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let t = elapsed
        let rate = t > 0 ? pathSteps / t : 0
        var eta = "–"
        if done > 0 && done < total && t > 0 { eta = String(format: "%.0fs", t / Double(done) * Double(total - done)) }
        let name = last.map { " \($0.experiment)" } ?? ""
        write("\r\u{1B}[2K[\(bar)] \(done)/\(total) cells  \(String(format: "%.3g", rate)) path-steps/s  ETA \(eta)\(name)")
    }

    func finish() {
        if terminal && !quiet { write("\n") }
    }
}
