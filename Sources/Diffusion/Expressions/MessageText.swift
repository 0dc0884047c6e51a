/// Error messages that quote user input stay one bounded line: control characters become
/// `U+XXXX`, and a message longer than `maxLength` characters is cut in the middle (its
/// start, which names what is wrong, and its end are kept). Shared by the spec parsers and
/// the expression parser; the fuzzers (Fuzz/) check every message against it.
public enum MessageText {
    public static let maxLength = 243

    public static func oneLine(_ message: String) -> String {
        var scalars = String.UnicodeScalarView()
        for c in message.unicodeScalars {
            if c.value < 0x20 || c.value == 0x7F {
                let digits = String(c.value, radix: 16, uppercase: true)
                scalars.append(contentsOf: ("U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits).unicodeScalars)
            } else {
                scalars.append(c)
            }
        }
        let line = String(scalars)
        return line.count <= maxLength ? line : String(line.prefix(200)) + " … " + String(line.suffix(40))
    }
}
