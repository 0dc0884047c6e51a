// libFuzzer target: the JSON spec parser (issue 13, item 9); see TOMLSpecFuzz.swift.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do { _ = try JSONSpecParser.parse(text) } catch { checkMessage(error.message) }
    return 0
}
