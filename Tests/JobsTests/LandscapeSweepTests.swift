import Foundation
import Testing
import Diffusion
@testable import Jobs

/// Landscape parameters as sweep axes and per-experiment landscapes, starts and exits
/// (issue 12, items 1–2): each combination is a landscape of its own, and a cell of a swept
/// job computes exactly what a job written for that one landscape computes.
@Suite struct LandscapeSweepTests {
    static func parseError(_ text: String) -> String? {
        do { _ = try JobSpec.parse(text); return nil } catch { return error.message }
    }

    static func bk(_ landscape: String, exit: String = "when = \"x > a\"", name: String = "sweep") -> String {
        """
        name = "\(name)"
        [landscape]
        \(landscape)
        [start]
        point = [0]
        [exit]
        \(exit)
        [[experiment]]
        name = "exact"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = [0.2, 0.3]
        """
    }

    /// A constant swept in `[landscape.constants]` gives, cell by cell, bit-for-bit the value of a
    /// job written with that number in place of the name (potential and exit condition both).
    @Test func sweptConstantEqualsTheWrittenOutLandscape() throws {
        let swept = Self.bk("""
        potential = "h*x^2/2"
        [landscape.constants]
        h = [1, 2, 4]
        a = 0.5
        """)
        let spec = try JobSpec.parse(swept)
        let experiment = spec.experiments[0]
        #expect(experiment.settings.count == 3)
        #expect(experiment.parameters.first?.key == "landscape.h" && experiment.cellCount == 6)
        let cells = try JobRunner(spec: spec, threads: 1).run()
        #expect(cells.count == 6)
        for cell in cells {
            let h = try #require(cell.parameters.first { $0.key == "landscape.h" }?.value)
            let epsilon = try #require(cell.parameters.first { $0.key == "epsilon" }?.value)
            #expect(cell.sweptAxes.contains("landscape.h"))
            let single = Self.bk("potential = \"\(TableReader.format(h))*x^2/2\"", exit: "when = \"x > 0.5\"", name: "one")
                .replacingOccurrences(of: "epsilon = [0.2, 0.3]", with: "epsilon = \(epsilon)")
            let reference = try JobRunner(spec: try JobSpec.parse(single), threads: 1).run()[0]
            let m = try #require(cell.mean), r = try #require(reference.mean)
            #expect(m == r, "h = \(h), ε = \(epsilon): swept \(m), written out \(r)")
        }
        // a stiffer well holds the path longer at the same ε: the sweep really changes the landscape
        let means = cells.filter { $0.parameters.contains { $0.key == "epsilon" && $0.value == 0.2 } }.compactMap(\.mean)
        #expect(means.count == 3 && means[0] < means[1] && means[1] < means[2])
    }

    /// A built-in's numeric key as an array: one landscape per value, the start `at` a critical
    /// point follows each landscape, and the cells carry `landscape.h_sharp`.
    @Test func builtinParameterSweepMovesTheCriticalPoints() throws {
        let text = """
        name = "sharp-sweep"
        [landscape]
        builtin = "sharp-flat"
        h_sharp = [2, 4, 8, 16]
        [start]
        at = "sharp minimum"
        [exit]
        when = "x > 0"
        [[experiment]]
        name = "theory"
        dynamics = "langevin"
        method = "theory"
        theory = "eyring-kramers"
        epsilon = 0.05
        """
        let spec = try JobSpec.parse(text)
        let settings = spec.experiments[0].settings
        #expect(settings.count == 4)
        let starts = settings.map { $0.start[0] }
        #expect(Set(starts).count == 4, "the sharp minimum moves with h_sharp: \(starts)")
        for (s, h) in zip(settings, [2.0, 4, 8, 16]) {
            let minimum = try #require(s.landscape.criticalPoints.first { $0.label == "sharp minimum" })
            #expect(s.start == minimum.point)
            let curvature = s.landscape.hessian(at: s.start)[0]
            #expect(abs(curvature - h) <= 1e-9 * h, "V'' at the sharp minimum \(curvature), h_sharp \(h)")
        }
        let cells = try JobRunner(spec: spec, threads: 1).run()
        #expect(cells.map { $0.parameters.first { $0.key == "landscape.h_sharp" }?.value } == [2, 4, 8, 16])
        // Eyring–Kramers at fixed barrier: E τ ∝ 1/√(h_sharp): each doubling divides it by √2
        let means = cells.compactMap(\.mean)
        #expect(means.count == 4)
        for k in 1..<4 { #expect(abs(means[k - 1] / means[k] - 2.0.squareRoot()) < 1e-9) }
    }

    /// A built-in's numeric keys are named constants of the expressions read on it: an exit at
    /// `x > -1 + barrier` moves with each swept barrier.
    @Test func builtinKeysAreConstantsOfExitExpressions() throws {
        let text = """
        name = "builtin-constants"
        [landscape]
        builtin = "double-well"
        barrier = [0.25, 0.5]
        [start]
        point = [-1]
        [exit]
        when = "x > -1 + barrier"
        [[experiment]]
        name = "exact"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.2
        """
        let spec = try JobSpec.parse(text)
        for (setting, barrier) in zip(spec.experiments[0].settings, [0.25, 0.5]) {
            #expect(setting.landscape.constants["barrier"] == barrier)
            let terms = try setting.exit.terms(on: setting.landscape, start: setting.start)
            #expect(terms.count == 1)
            #expect(terms[0].expression.evaluate(at: [-1 + barrier - 1e-9]) == 0 && terms[0].expression.evaluate(at: [-1 + barrier + 1e-9]) == 1)
        }
        #expect(try JobRunner(spec: spec, threads: 1).run().allSatisfy { $0.mean != nil })
    }

    /// A covariance Σ₁ written with a swept built-in key (`matrix = "h_sharp"`, the Hessian at the
    /// minimum) is read on each cell's landscape: every cell's exact values equal those of a
    /// job that writes that number (and a constant 1-D Σ₁ gives the chain its Gaussian kernel).
    @Test func covarianceReadsEachCellsConstants() throws {
        func job(_ h: String, _ matrix: String) -> String {
            """
            name = "cov"
            [landscape]
            builtin = "sharp-flat"
            h_sharp = \(h)
            h_flat = 4
            barrier_curvature = 1
            [start]
            at = "sharp minimum"
            [exit]
            when = "x > 0"
            [[experiment]]
            name = "grid"
            dynamics = "sgd-sde"
            method = "backward-kolmogorov"
            learning_rate = 0.05
            batch_size = 1
            noise = { law = "covariance", matrix = "\(matrix)" }
            [[experiment]]
            name = "chain"
            dynamics = "sgd"
            method = "chain"
            learning_rate = 0.05
            batch_size = 1
            noise = { law = "covariance", matrix = "\(matrix)" }
            """
        }
        let swept = try JobRunner(spec: try JobSpec.parse(job("[3, 6]", "h_sharp")), threads: 1).run()
        #expect(swept.count == 4)
        for cell in swept {
            let h = try #require(cell.parameters.first { $0.key == "landscape.h_sharp" }?.value)
            let single = try JobRunner(spec: try JobSpec.parse(job(TableReader.format(h), TableReader.format(h))), threads: 1).run()
            let reference = try #require(single.first { $0.experiment == cell.experiment })
            #expect(cell.mean == reference.mean, "\(cell.experiment), h = \(h): \(cell.mean ?? .nan) vs \(reference.mean ?? .nan)")
        }
        // more noise at the sharper minimum: it is left sooner
        #expect(try #require(swept[0].mean) > 2 * (try #require(swept[1].mean)))
        let varying = job("3", "h_sharp*(1 + x^2)")
        #expect(Self.parseError(varying)?.contains("Gaussian increments of fixed variance") == true)
    }

    /// An experiment's own landscape, start and exit replace the job's for it alone.
    @Test func experimentTablesOverrideTheJobs() throws {
        let text = """
        name = "override"
        [landscape]
        builtin = "sharp-flat"
        [start]
        at = "sharp minimum"
        [exit]
        when = "x > 0"
        [[experiment]]
        name = "sharp"
        dynamics = "langevin"
        method = "theory"
        theory = "eyring-kramers"
        epsilon = 0.05
        [[experiment]]
        name = "flat"
        dynamics = "langevin"
        method = "theory"
        theory = "eyring-kramers"
        epsilon = 0.05
        [experiment.start]
        at = "flat minimum"
        [experiment.exit]
        when = "x < 0"
        [[experiment]]
        name = "own well"
        dynamics = "langevin"
        method = "backward-kolmogorov"
        epsilon = 0.1
        landscape = { builtin = "double-well", barrier = [0.25, 0.5] }
        start = { point = [-1] }
        """
        let spec = try JobSpec.parse(text)
        #expect(spec.experiments[0].settings[0].start[0] < 0 && spec.experiments[1].settings[0].start[0] > 0)
        #expect(spec.experiments[2].settings.count == 2 && spec.experiments[2].settings[0].start == [-1])
        let cells = try JobRunner(spec: spec, threads: 1).run()
        #expect(cells.count == 4)
        // sharp-flat defaults: both barriers 0.25, the flat well (h = 1) is left more slowly than the sharp (h = 8)
        let sharp = try #require(cells[0].mean), flat = try #require(cells[1].mean)
        #expect(abs(flat / sharp - 8.0.squareRoot()) < 1e-9)
        #expect(cells[2].parameters.first?.key == "landscape.barrier")
        #expect(try #require(cells[3].mean) > 4 * (try #require(cells[2].mean)))
    }

    /// Geometry is compared by the landscape table as written (values put in), not by the
    /// landscape's summary: the same table in another order or with 2 for 2.0 is the same
    /// geometry; a parameter the summary leaves out (`true_parameters`) makes another one.
    @Test func sameGeometryComparesWhatWasWritten() throws {
        func settings(_ a: String, _ b: String) throws -> (ExperimentSetting, ExperimentSetting) {
            let text = """
            name = "geometry"
            [start]
            point = [0, 0]
            [exit]
            when = "x^2 + y^2 > 1"
            [[experiment]]
            name = "a"
            dynamics = "sgd"
            learning_rate = 0.01
            paths = 10
            landscape = { \(a) }
            [[experiment]]
            name = "b"
            dynamics = "sgd"
            learning_rate = 0.01
            paths = 10
            landscape = { \(b) }
            """
            let spec = try JobSpec.parse(text)
            return (spec.experiments[0].settings[0], spec.experiments[1].settings[0])
        }
        let reordered = try settings("builtin = \"linear-regression\", samples = 50, noise = 1",
                                     "noise = 1.0, samples = 50, builtin = \"linear-regression\"")
        #expect(reordered.0.sameGeometry(as: reordered.1))
        let truth = try settings("builtin = \"linear-regression\", samples = 50, true_parameters = [1, 2]",
                                 "builtin = \"linear-regression\", samples = 50, true_parameters = [1, 3]")
        #expect(truth.0.landscape.summary == truth.1.landscape.summary, "the summary cannot tell them apart")
        #expect(!truth.0.sameGeometry(as: truth.1))
    }

    /// An exit radius given as an array is a sweep axis `exit.distance_from_start`, after the
    /// landscape's axes; each cell equals the job written with that radius.
    @Test func exitRadiusIsASweepAxis() throws {
        let swept = try JobSpec.parse(Self.bk("builtin = \"double-well\"\nbarrier = [0.25, 0.5]", exit: "distance_from_start = [0.5, 0.8]"))
        #expect(Array(swept.experiments[0].parameters.map(\.key).prefix(3)) == ["landscape.barrier", "exit.distance_from_start", "epsilon"])
        #expect(swept.experiments[0].settings.count == 4)
        let cells = try JobRunner(spec: swept, threads: 1).run()
        #expect(cells.count == 8)
        for (k, (barrier, radius)) in [(0.25, 0.5), (0.25, 0.8), (0.5, 0.5), (0.5, 0.8)].enumerated() {
            let single = try JobSpec.parse(Self.bk("builtin = \"double-well\"\nbarrier = \(barrier)", exit: "distance_from_start = \(radius)"))
            let reference = try JobRunner(spec: single, threads: 1).run()
            #expect(cells[2 * k].mean == reference[0].mean && cells[2 * k + 1].mean == reference[1].mean, "barrier \(barrier), r \(radius)")
        }
        #expect(Self.parseError(Self.bk("builtin = \"double-well\"", exit: "distance_from_start = [0.5, \"far\"]"))?.contains("exit.distance_from_start") == true)
    }

    /// Bad sweeps and overrides are one-line errors naming the key, the value and the combination.
    @Test func errorsNameTheKeyAndTheCombination() {
        let base = Self.bk("builtin = \"double-well\"\nbarrier = [0.25, -1]", exit: "when = \"x > 0\"")
            .replacingOccurrences(of: "point = [0]", with: "point = [-1]")
        #expect(Self.parseError(base)?.contains("landscape.barrier must be > 0, got -1") == true)
        #expect(Self.parseError(base)?.contains("[at landscape.barrier = -1]") == true)
        let empty = base.replacingOccurrences(of: "[0.25, -1]", with: "[]")
        #expect(Self.parseError(empty)?.contains("landscape.barrier must not be an empty array") == true)
        let badName = Self.bk("potential = \"x^2\"\n[landscape.constants]\nsin = 2")
        #expect(Self.parseError(badName)?.contains("landscape.constants.sin is reserved") == true)
        let badValue = Self.bk("potential = \"x^2\"\n[landscape.constants]\na = \"one\"")
        #expect(Self.parseError(badValue)?.contains("landscape.constants.a must be a number or an array of numbers") == true)
        let unknownName = Self.bk("potential = \"h*x^2\"\n[landscape.constants]\na = 1")
        #expect(Self.parseError(unknownName)?.contains("unknown variable 'h'") == true)
        let inside = Self.bk("potential = \"x^2\"\n[landscape.constants]\na = [0.5, -0.5]")
        #expect(Self.parseError(inside)?.contains("already in the exit region") == true)
        #expect(Self.parseError(inside)?.contains("[at landscape.a = -0.5]") == true)
        let dimension = Self.bk("builtin = \"quadratic\"\ncurvature = 1\ndimension = [1, 2]", exit: "when = \"x > 1\"")
            .replacingOccurrences(of: "point = [0]", with: "point = 0").replacingOccurrences(of: "method = \"backward-kolmogorov\"", with: "method = \"monte-carlo\"")
        #expect(Self.parseError(dimension)?.contains("same kind and dimension") == true)
        let noLandscape = Self.bk("potential = \"x^2\"").replacingOccurrences(of: "[landscape]\npotential = \"x^2\"\n", with: "")
        #expect(Self.parseError(noLandscape)?.contains("landscape is required: give a [landscape] table, or [experiment.landscape] in every experiment") == true)
        let tooMany = Self.bk("potential = \"x^2\"\n[landscape.constants]\na = 1\nb = [\((1...40).map(String.init).joined(separator: ", "))]\nc = [\((1...30).map(String.init).joined(separator: ", "))]")
        #expect(Self.parseError(tooMany)?.contains("sweeps 1200 landscapes") == true)
        let notTable = Self.bk("potential = \"x^2\"\n[landscape.constants]\na = 0.5") + "\nlandscape = 3"
        #expect(Self.parseError(notTable)?.contains("experiment[1].landscape must be a table") == true)
    }
}
