import Foundation
internal import CKernels

/// Euler–Maruyama steps compiled for one problem, for additive Gaussian noise and the 1-D
/// Hessian law: the landscape's gradient (and Hessian) program and the exit test's indicator
/// program written out as C, built with the package's C flags by the toolchain's clang at run
/// time, and loaded; the kernel then runs a block's steps one after another in SIMD registers
/// (generator, update, exit test and, where asked, the bridge test on planes)
/// until some lane stops (`CKernels/shared/fused_steps_template.h`,
/// `CKernels/include/fused_steps.h`; docs/internals.md).
///
/// Exactness: the kernel performs the stepper's operations in the stepper's order — each
/// program instruction as the block evaluator performs it (the same scalar functions,
/// `CKernels/shared/expression_ops.h`; the same lane-wise IEEE operations; no contraction
/// or fast math), the same lane streams in the same order, the same exit and bridge
/// decisions — so a run gives the same bits with the kernel as without it. The tests compare
/// whole ensembles both ways. Whether the kernel is used is therefore a speed choice only:
/// it is built in the background once the process has spent `buildAfter` seconds simulating
/// the problem's program shape, chunks use it once it is ready, and where no compiler is
/// found, the package's sources are not at hand (a moved binary), or
/// `SGD_ESCAPE_COMPILED_STEPS=0` is set, every step runs through the block kernels as before.
///
/// Built kernels are kept for the process, keyed by their source: the source names no
/// problem constants (they are passed at call time), so the cells of a sweep that differ
/// in ε, dt, the step size, the start or the landscape's coefficients share one build.
/// Nothing is cached on disk: each build writes to a fresh temporary folder, loads the
/// library and removes the folder (and any such folder older than ten minutes, left by a
/// process that exited during its build). The compiler runs as a child process of about
/// 65–85 MB, once per process and program shape.
final class CompiledStepKernel: @unchecked Sendable {
    let function: sgd_fused_steps_function
    private let library: UnsafeMutableRawPointer

    /// The loaded library; it stays loaded for the process (kernels are shared through the cache).
    private init(function: sgd_fused_steps_function, library: UnsafeMutableRawPointer) {
        self.function = function
        self.library = library
    }

    /// What one problem's kernel is built from and called with.
    struct Plan: Sendable {
        /// The C file: program code and compile-time shape only.
        let source: String
        let gradientImmediates: [Double]
        let indicatorImmediates: [Double]
        let hessianImmediates: [Double]
        let levelImmediates: [Double]

        /// The plan for an Euler–Maruyama stepper with these parameters, or nil where the
        /// kernel does not apply: noise other than additive Gaussian or (d = 1, step test)
        /// the Hessian law, a landscape without a gradient program (finite sums), an exit test
        /// that reads the loss or a distance, a bridge test other than on level boundaries with
        /// constant gradient norms (planes: `x > 0`, intervals, boxes) under additive noise, a block width that is not a multiple of 8 up to 64, programs
        /// longer than `maxInstructions` or d above `maxDimension`, no inline ziggurat tables,
        /// or `SGD_ESCAPE_COMPILED_STEPS=0`.
        init?(landscape: Landscape, increment: EulerMaruyamaStepper.Increment, exitTest: CompiledExitTest,
              bridge: Bool, width: Int) {
            guard CompiledStepKernel.enabled, InlineZiggurat.tables != nil, width % 8 == 0, width <= 64 else { return nil }
            guard let gradient = landscape.gradientProgram, !exitTest.readsLoss, exitTest.distanceTerms.isEmpty else { return nil }
            let d = landscape.dimension
            var hessian: CompiledProgram? = nil, absolute = false
            switch increment {
            case .gaussian(let s):
                if bridge {
                    // a coordinate plane (mode 1) or level boundaries with constant norms (mode 2)
                    guard exitTest.constantInverseNorms != nil, exitTest.levels != nil, s > 0 else { return nil }
                }
            case .stateDependent(.hessian(_, let curvature), _) where d == 1 && !bridge:
                guard let program = landscape.hessianProgram else { return nil }
                hessian = program
                absolute = curvature == .absolute
            default:
                return nil
            }
            let indicators = exitTest.indicators
            let length = gradient.encoded.count + indicators.encoded.count + (hessian?.encoded.count ?? 0)
                + (bridge ? exitTest.levels?.encoded.count ?? 0 : 0)
            guard d >= 1, d <= CompiledStepKernel.maxDimension, length <= CompiledStepKernel.maxInstructions else { return nil }
            let plane = bridge ? exitTest.coordinateLevel : nil
            let levels = bridge && plane == nil ? exitTest.levels : nil
            let bridgeMode = !bridge ? 0 : plane != nil ? 1 : 2
            let target: String
            switch KernelInstructionSet.blocks {
            case 2: target = "__attribute__((target(\"avx512f\")))"
            case 1: target = "__attribute__((target(\"avx2\")))"
            default: target = ""
            }
            let hessianFunction = hessian.map { CompiledStepKernel.function("fused_hessian", $0.encoded) } ?? ""
            let levelsFunction = levels.map { CompiledStepKernel.function("fused_levels", $0.encoded) } ?? ""
            source = """
                /* written by sgd-escape (Diffusion/Integrators/CompiledStepKernel.swift) */
                #define SGD_FUSED_D \(d)
                #define SGD_FUSED_TERMS \(indicators.outputCount)
                #define SGD_FUSED_BRIDGE \(bridgeMode)
                #define SGD_FUSED_BRIDGE_ROW \(plane?.row ?? 0)
                #define SGD_FUSED_BRIDGE_OFFSET \(plane?.offset != nil ? 1 : 0)
                #define SGD_FUSED_HESSIAN \(hessian != nil ? 1 : 0)
                #define SGD_FUSED_ABSOLUTE \(absolute ? 1 : 0)
                #define SGD_FUSED_GRADIENT_CONSTANTS \(gradient.encoded.count)
                #define SGD_FUSED_INDICATOR_CONSTANTS \(indicators.encoded.count)
                #define SGD_FUSED_HESSIAN_CONSTANTS \(hessian?.encoded.count ?? 0)
                #define SGD_FUSED_LEVELS \(exitTest.levelTerms.count)
                #define SGD_FUSED_LEVEL_CONSTANTS \(levels?.encoded.count ?? 0)
                #define SGD_FUSED_TARGET \(target)
                #include "shared/fused_vector_ops.h"

                \(CompiledStepKernel.function("fused_gradient", gradient.encoded))
                \(CompiledStepKernel.function("fused_indicators", indicators.encoded))
                \(hessianFunction)
                \(levelsFunction)
                #include "shared/fused_steps_template.h"

                """
            hessianImmediates = hessian.map { h in (0..<h.encoded.count).map { h.encoded.code[$0].imm } } ?? []
            levelImmediates = levels.map { h in (0..<h.encoded.count).map { h.encoded.code[$0].imm } } ?? []
            gradientImmediates = (0..<gradient.encoded.count).map { gradient.encoded.code[$0].imm }
            indicatorImmediates = (0..<indicators.encoded.count).map { indicators.encoded.code[$0].imm }
        }
    }

    /// Programs longer than this (together) are left to the block evaluator: the build time
    /// grows with them, and the passes amortise their dispatch over long programs anyway.
    static let maxInstructions = 1024
    /// Dimensions above this too: a kernel keeps a group's d coordinates and d gradient rows,
    /// and every program constant in eight lanes, on its thread's stack (at most about 75 KB).
    static let maxDimension = 64

    /// False where `SGD_ESCAPE_COMPILED_STEPS=0`.
    static let enabled: Bool = getenv("SGD_ESCAPE_COMPILED_STEPS").map { String(cString: $0) != "0" } ?? true

    // MARK: - C code

    /// One program as a C function over one group of eight lanes: `X[j]` the inputs, `O[k]`
    /// the outputs, `W<r>` the registers, `M[k]` instruction k's immediate in every lane; each instruction as
    /// `sgd_program_evaluate` performs it (program_eval.c), lane for lane.
    static func function(_ name: String, _ program: EncodedProgram) -> String {
        func operand(_ slot: Int64) -> String {
            let row = slot & 0xFFFF_FFFF
            switch slot >> 32 {
            case 0: return "X[\(row)]"
            case 1: return "W\(row)"
            default: return "O[\(row)]"
            }
        }
        var registers = Set<Int64>()
        var body: [String] = []
        for k in 0..<program.count {
            let ins = program.code[k]
            for slot in [ins.d, ins.a, ins.b, ins.c] where slot >= 0 && slot >> 32 == 1 { registers.insert(slot & 0xFFFF_FFFF) }
            let d = operand(ins.d)
            let a = ins.a >= 0 ? operand(ins.a) : "", b = ins.b >= 0 ? operand(ins.b) : "", c = ins.c >= 0 ? operand(ins.c) : ""
            let m = "M[\(k)]"
            func lanes(_ call: String) -> String { "{ const d8 a = \(a); for (int l = 0; l < 8; l++) \(d)[l] = \(call)(a[l]); }" }
            func compare(_ op: String) -> String { "\(d) = truth8((q8)(\(a) \(op) \(ins.b >= 0 ? b : m)));" }
            let line: String
            switch Int(ins.op) {
            case Int(SGD_OP_LOAD_CONST): line = "\(d) = \(m);"
            case Int(SGD_OP_COPY): line = "\(d) = \(a);"
            case Int(SGD_OP_ADD): line = "\(d) = \(a) + \(b);"
            case Int(SGD_OP_SUB): line = "\(d) = \(a) - \(b);"
            case Int(SGD_OP_MUL): line = "\(d) = \(a) * \(b);"
            case Int(SGD_OP_DIV): line = "\(d) = \(a) / \(b);"
            case Int(SGD_OP_NEG): line = "\(d) = -\(a);"
            case Int(SGD_OP_MUL_CONST): line = "\(d) = \(a) * \(m);"
            case Int(SGD_OP_ADD_CONST): line = "\(d) = \(a) + \(m);"
            case Int(SGD_OP_CONST_SUBTRACT): line = "\(d) = \(m) - \(a);"
            case Int(SGD_OP_DIV_CONST_BY): line = "\(d) = \(m) / \(a);"
            case Int(SGD_OP_DIV_BY_CONST): line = "\(d) = \(a) / \(m);"
            case Int(SGD_OP_SQUARE): line = "{ const d8 a = \(a); \(d) = a * a; }"
            case Int(SGD_OP_CUBE): line = "{ const d8 a = \(a); \(d) = a * (a * a); }"
            case Int(SGD_OP_POW_INT): line = "{ const d8 a = \(a); for (int l = 0; l < 8; l++) \(d)[l] = powi(a[l], \(ins.n)L); }"
            case Int(SGD_OP_POW_REAL):
                line = "{ const d8 a = \(a), b = \(b); for (int l = 0; l < 8; l++) \(d)[l] = pow_real(a[l], b[l]); }"
            case Int(SGD_OP_EXP): line = lanes("exp")
            case Int(SGD_OP_LOG): line = lanes("log")
            case Int(SGD_OP_SQRT): line = lanes("sqrt")
            case Int(SGD_OP_SIN): line = lanes("sin")
            case Int(SGD_OP_COS): line = lanes("cos")
            case Int(SGD_OP_TANH): line = lanes("tanh")
            case Int(SGD_OP_ABS): line = lanes("fabs")
            case Int(SGD_OP_SIGN): line = lanes("sign_of")
            case Int(SGD_OP_MIN): line = "{ const d8 a = \(a), b = \(b); \(d) = pick8((q8)(a < b), a, b); }"
            case Int(SGD_OP_MAX): line = "{ const d8 a = \(a), b = \(b); \(d) = pick8((q8)(a > b), a, b); }"
            case Int(SGD_OP_SELECT): line = "{ const d8 p = \(a), a = \(b), b = \(c); \(d) = pick8((q8)(p != splat8(0)), a, b); }"
            case Int(SGD_OP_LT): line = compare("<")
            case Int(SGD_OP_LE): line = compare("<=")
            case Int(SGD_OP_GT): line = compare(">")
            case Int(SGD_OP_GE): line = compare(">=")
            case Int(SGD_OP_EQ): line = compare("==")
            case Int(SGD_OP_NE): line = compare("!=")
            case Int(SGD_OP_AND): line = "\(d) = truth8((q8)(\(a) != splat8(0)) & (q8)(\(b) != splat8(0)));"
            case Int(SGD_OP_OR): line = "\(d) = truth8((q8)(\(a) != splat8(0)) | (q8)(\(b) != splat8(0)));"
            case Int(SGD_OP_NOT): line = "\(d) = truth8((q8)(\(a) == splat8(0)));"
            default: preconditionFailure("CompiledStepKernel: unknown program operation \(ins.op)")
            }
            body.append("    " + line)
        }
        let declarations = registers.sorted().map { "    d8 W\($0) = { 0 };" }
        return (["static inline __attribute__((always_inline, unused)) void \(name)(const d8 *X, d8 *O, const d8 *M) {",
                 "    (void)X; (void)O; (void)M;"]
                + declarations + body + ["}"]).joined(separator: "\n")
    }

    // MARK: - Builds

    /// The kernel for `plan` if it is built; otherwise nil. `spent` seconds of simulation on
    /// the block kernels are added to the plan's account, and once the process has spent
    /// `buildAfter` seconds on plans with this source the build is queued in the background
    /// (once per source and process; one build runs at a time): a short run never starts a
    /// compiler it could not profit from. With `wait`, the build is queued at once and
    /// awaited.
    static func kernel(for plan: Plan, spent: Double = 0, wait: Bool = false) -> CompiledStepKernel? {
        cache.kernel(for: plan.source, spent: spent, wait: wait)
    }

    /// Seconds of simulation a program shape takes on the block kernels before its kernel is
    /// built: about the build's own cost (≈ 0.3 s of clang, beside the simulation), so the
    /// build pays for itself within about as much time again at the engine's ≈ 1.5× speed-up.
    static let buildAfter = 0.3

    /// Why the last build that failed failed (tests: a failed build where a compiler exists is a defect).
    static var lastFailure: String? { cache.lastFailure }

    private static let cache = Cache()

    private final class Cache: @unchecked Sendable {
        enum Entry { case counting(Double), building, ready(CompiledStepKernel), failed }
        private let condition = NSCondition()
        private let builds = DispatchQueue(label: "sgd-escape.compiled-step-kernels")
        private var entries: [String: Entry] = [:]
        private(set) var lastFailure: String?

        func kernel(for source: String, spent: Double, wait: Bool) -> CompiledStepKernel? {
            condition.lock()
            defer { condition.unlock() }
            switch entries[source] ?? .counting(0) {
            case .counting(let total):
                if !wait && total + spent < CompiledStepKernel.buildAfter {
                    entries[source] = .counting(total + spent)
                    return nil
                }
                entries[source] = .building
                // one build at a time (a sweep over many landscapes must not start a compiler
                // per cell at once); chunks run on the block kernels meanwhile
                builds.async { [self] in
                    let result = CompiledStepKernel.build(source)
                    condition.lock()
                    switch result {
                    case .success(let kernel): entries[source] = .ready(kernel)
                    case .failure(let failure): entries[source] = .failed; lastFailure = failure.reason
                    }
                    condition.broadcast()
                    condition.unlock()
                }
            default: break
            }
            while true {
                switch entries[source]! {
                case .ready(let kernel): return kernel
                case .building where wait: condition.wait()
                default: return nil
                }
            }
        }
    }

    struct BuildFailure: Error { let reason: String }

    /// `Sources/CKernels` of the checkout this binary was built from.
    static let kernelSources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("CKernels")

    /// The C compiler: `SGD_ESCAPE_CC`, else the Swift toolchain's clang (beside `swiftc` on
    /// the PATH, links resolved), else `clang` on the PATH.
    static func compiler() -> String? {
        if let cc = getenv("SGD_ESCAPE_CC").map({ String(cString: $0) }), !cc.isEmpty { return cc }
        let files = FileManager.default
        let path = (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin").split(separator: ":")
        for dir in path where files.isExecutableFile(atPath: "\(dir)/swiftc") {
            let toolchain = URL(fileURLWithPath: "\(dir)/swiftc").resolvingSymlinksInPath().deletingLastPathComponent()
            let clang = toolchain.appendingPathComponent("clang").path
            if files.isExecutableFile(atPath: clang) { return clang }
        }
        for dir in path where files.isExecutableFile(atPath: "\(dir)/clang") { return "\(dir)/clang" }
        return nil
    }

    static let folderPrefix = "sgd-escape-kernel-"

    /// Removes build folders older than ten minutes: a process that exits while its build runs
    /// leaves its folder behind (a build takes well under a second, so none of these is live).
    static func removeStaleFolders(in temporary: URL) {
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: temporary.path) else { return }
        let cutoff = Date().addingTimeInterval(-600)
        for name in names where name.hasPrefix(folderPrefix) {
            let url = temporary.appendingPathComponent(name)
            if let modified = (try? files.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date, modified < cutoff {
                try? files.removeItem(at: url)
            }
        }
    }

    /// Writes, compiles and loads one kernel (flags as the package's CKernels target).
    static func build(_ source: String) -> Result<CompiledStepKernel, BuildFailure> {
        guard let cc = compiler() else { return .failure(BuildFailure(reason: "no C compiler (clang) on the PATH")) }
        let template = kernelSources.appendingPathComponent("shared/fused_steps_template.h").path
        guard FileManager.default.fileExists(atPath: template) else {
            return .failure(BuildFailure(reason: "the kernel sources are not at \(kernelSources.path)"))
        }
        let temporary = FileManager.default.temporaryDirectory
        removeStaleFolders(in: temporary)
        let folder = temporary.appendingPathComponent("\(folderPrefix)\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            let c = folder.appendingPathComponent("kernel.c"), library = folder.appendingPathComponent("kernel.so")
            try Data(source.utf8).write(to: c)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: cc)
            process.arguments = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-Wno-psabi", "-fPIC", "-shared",
                                 "-I", kernelSources.path, "-o", library.path, c.path, "-lm"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let text = String(decoding: message.prefix(2000), as: UTF8.self)
                return .failure(BuildFailure(reason: "\(cc) exited with \(process.terminationStatus): \(text)"))
            }
            guard let handle = dlopen(library.path, RTLD_NOW | RTLD_LOCAL) else {
                return .failure(BuildFailure(reason: "dlopen: \(String(cString: dlerror()))"))
            }
            guard let symbol = dlsym(handle, "sgd_fused_steps") else {
                return .failure(BuildFailure(reason: "dlsym: sgd_fused_steps not found"))
            }
            return .success(CompiledStepKernel(function: unsafeBitCast(symbol, to: sgd_fused_steps_function.self),
                                               library: handle))
        } catch {
            return .failure(BuildFailure(reason: "\(error)"))
        }
    }
}
