/// Error messages that quote user input stay one bounded line. Two rules, both here: a
/// quoted value goes through `String.shortened` (80 characters and its length), and a whole
/// parse message through `MessageText.oneLine` (control characters and line separators become `U+XXXX`; over
/// `maxLength` characters it is cut in the middle, keeping the start that names what is
/// wrong). The fuzzers (Fuzz/) check every parser message against `maxLength`.
public enum MessageText {
    public static let maxLength = 243

    public static func oneLine(_ message: String) -> String {
        var scalars = String.UnicodeScalarView()
        for c in message.unicodeScalars {
            // C0 and C1 controls (NEL included) and the line and paragraph separators
            if c.value < 0x20 || (0x7F...0x9F).contains(c.value) || c.value == 0x2028 || c.value == 0x2029 {
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

extension String {
    /// At most `limit` characters of the text, for quoting a user's value in a message:
    /// longer text keeps its start and says how long it was.
    public func shortened(_ limit: Int = 80) -> String {
        guard count > limit else { return self }
        return String(prefix(limit)) + "… (\(count) characters)"
    }
}
