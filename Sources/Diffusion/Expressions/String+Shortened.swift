/// Shortening a user's value for a message: the one helper every error that quotes a value
/// goes through, so no message grows with its input (a 10 MB spec gives a short line).
extension String {
    /// At most `limit` characters of the text, for quoting a user's value in a message:
    /// longer text keeps its start and says how long it was.
    public func shortened(_ limit: Int = 80) -> String {
        guard count > limit else { return self }
        return String(prefix(limit)) + "… (\(count) characters)"
    }
}
