/// The fuzzers' check on an error message: one line, at most `MessageText.maxLength`
/// characters (a 10 MB garbage spec must not give a 10 MB stderr line).
func checkMessage(_ message: String) {
    if message.contains(where: { $0.isNewline }) || message.count > MessageText.maxLength {
        fatalError("error message is not one line of at most \(MessageText.maxLength) characters (\(message.count))")
    }
}
