import Logging
import Synchronization
import Systemd

/// The log level, changeable at run time by a config reload (SIGHUP).
final class LogLevelBox: Sendable {
    private let raw: Atomic<UInt8>

    init(_ level: Logger.Level) { raw = Atomic(Self.code(level)) }

    var level: Logger.Level {
        get { Logger.Level.allCases[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.code(newValue), ordering: .relaxed) }
    }

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 2)
    }
}

/// Wraps the real backend (journal or stderr) so every logger follows `LogLevelBox`.
struct DynamicLevelHandler<Backend: LogHandler>: LogHandler {
    var backend: Backend
    let box: LogLevelBox

    var logLevel: Logger.Level {
        get { box.level }
        set { box.level = newValue }
    }

    var metadata: Logger.Metadata {
        get { backend.metadata }
        set { backend.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { backend[metadataKey: key] }
        set { backend[metadataKey: key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        backend.log(level: level, message: message, metadata: metadata, source: source, file: file, function: function, line: line)
    }
}

enum LogSetup {
    /// Native journal entries when stderr is the journal (under systemd), plain lines otherwise.
    static func bootstrap(_ box: LogLevelBox) {
        let journal = JournalLogHandler.stderrIsJournal
        LoggingSystem.bootstrap { label in
            if journal {
                var h = JournalLogHandler(identifier: "flashd", fieldPrefix: "FLASHD_")
                h.logLevel = .trace
                return DynamicLevelHandler(backend: h, box: box)
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .trace
            return DynamicLevelHandler(backend: h, box: box)
        }
    }
}
