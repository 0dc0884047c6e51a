import Testing
import Diffusion
import TestSupport
@testable import Jobs

/// `integrator = "…"`: a Monte Carlo key naming one of `IntegratorKind`, recorded in the cell.
struct IntegratorSpecTests {
    static func spec(_ lines: String) -> String {
        SpecFixtures.doubleWell(name: "i") + "\n[[experiment]]\nname = \"e\"\ndynamics = \"langevin\"\nepsilon = 0.3\n" + lines + "\n"
    }

    @Test func theIntegratorIsReadAndRecorded() throws {
        let spec = try JobSpec.parse(Self.spec("paths = 50\nintegrator = \"euler-maruyama\""))
        #expect(spec.experiments[0].integrator == .eulerMaruyama)
        let cell = try JobRunner(spec: spec, threads: 1).runCell(experiment: 0, cell: 0)
        #expect(cell.integrator == .eulerMaruyama && cell.json()["integrator"] == .string(IntegratorKind.eulerMaruyama.rawValue))
        #expect(try Cell.decode(cell.encoded()) == cell)
    }

    @Test func anUnknownIntegratorIsRefusedWithItsLine() {
        #expect(throws: SpecError("experiment[1].integrator must be one of \"euler-maruyama\", got \"milstein\" (experiment 'e', line 12)")) {
            try JobSpec.parse(Self.spec("integrator = \"milstein\""))
        }
    }

    @Test func itIsMonteCarlosOnly() {
        #expect(throws: SpecError("experiment[1].integrator does not apply to method \"theory\" (a deterministic result for the continuous dynamics) (experiment 'e', line 14)")) {
            try JobSpec.parse(Self.spec("method = \"theory\"\ntheory = \"kramers\"\nintegrator = \"euler-maruyama\""))
        }
    }
}
