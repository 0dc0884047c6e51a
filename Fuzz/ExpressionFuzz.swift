// libFuzzer target: the expression compiler (issue 13, item 9). Parses the input over its
// inferred variables (at most 3), differentiates it symbolically, compiles value and gradient
// to the register program and checks the program against the tree's own evaluation, bit for
// bit (NaN against NaN) — the contract CompiledProgram states. Built with the files of
// Sources/Diffusion/Expressions by Fuzz/run.sh.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let variables = try ExpressionParser.inferVariables(text)
        guard variables.count <= 3 else { return 0 }
        let e = try ExpressionParser.parse(text, variables: variables)
        let outputs = [e] + (0..<variables.count).map { e.derivative(withRespectTo: $0) }
        let program = CompiledProgram(outputs: outputs, dimension: variables.count)
        for point in [[0.5, -1.25, 2.0], [0.0, 0.0, 0.0], [-3.0, 1e-3, 7.5]] {
            let at = Array(point.prefix(variables.count))
            for (a, b) in zip(program.evaluate(at: at), outputs.map { $0.evaluate(at: at) }) where !(a == b || (a.isNaN && b.isNaN)) {
                fatalError("compiled program gives \(a), the tree \(b) at \(at)")
            }
        }
    } catch {
        checkMessage(error.message)
    }
    return 0
}
