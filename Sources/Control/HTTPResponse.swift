/// An HTTP/1.1 response as flashd sends it: status, headers, and a body framed by
/// Content-Length (flashd never uses chunked encoding).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Parses the head (everything before the blank line). Returns nil when it is malformed.
    static func parseHead(_ head: [UInt8]) -> (status: Int, headers: [(String, String)], contentLength: Int)? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else { return nil }
        var headers: [(String, String)] = []
        var length = 0
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon]).trimmingSpaces
            let value = String(line[line.index(after: colon)...]).trimmingSpaces
            headers.append((name, value))
            if name.lowercased() == "content-length" {
                guard let n = Int(value), n >= 0 else { return nil }
                length = n
            }
        }
        return (status, headers, length)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
