// libFuzzer target: the TOML spec parser (issue 13, item 9). Built by Fuzz/run.sh with
// `swiftc -sanitize=fuzzer` together with TOMLParser.swift, SpecValue.swift and
// MessageText.swift. Fails on a crash, a hang (-timeout) or an error message that is not one
// line of at most MessageText.maxLength characters.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do { _ = try TOMLParser.parse(text) } catch { checkMessage(error.message) }
    return 0
}
