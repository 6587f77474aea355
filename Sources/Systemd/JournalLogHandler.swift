import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log backend writing native journal entries with structured fields.
///
/// Metadata becomes fields: `gid` → `FLASHD_GID`, `item` → `FLASHD_ITEM`, and so on, so
/// `journalctl -u flashd FLASHD_GID=<gid>` follows one purchase. The metadata key `message_id`
/// becomes `MESSAGE_ID` (see packaging/flashd.catalog).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let identifier: String
    private let fieldPrefix: String

    public init(identifier: String, fieldPrefix: String) {
        self.identifier = identifier
        self.fieldPrefix = fieldPrefix
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// True when stderr is connected to the journal: JOURNAL_STREAM names its device and inode.
    public static var stderrIsJournal: Bool {
        guard let env = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: env).split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(Self.priority(level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        let all = explicit.map { metadata.merging($0) { $1 } } ?? metadata
        for (key, value) in all {
            if key == "message_id" {
                fields.append("MESSAGE_ID=\(value)")
            } else {
                fields.append("\(fieldPrefix)\(Self.fieldName(key))=\(value)")
            }
        }
        Self.send(fields)
    }

    /// Journal field names: upper-case letters, digits and underscores, not starting with a digit.
    static func fieldName(_ key: String) -> String {
        String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    private static func send(_ fields: [String]) {
        // One allocation holds every field; each iovec points into it until sendv returns.
        let bytes = fields.map { Array($0.utf8) }
        let total = bytes.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(bytes.count)
        var offset = 0
        for field in bytes {
            let start = storage.baseAddress! + offset
            field.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            iovecs.append(iovec(iov_base: start, iov_len: field.count))
            offset += field.count
        }
        _ = sd_journal_sendv(&iovecs, Int32(iovecs.count))
    }
}
