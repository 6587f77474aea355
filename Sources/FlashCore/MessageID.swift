import Logging

/// Journal MESSAGE_IDs of flashd's key events, explained in packaging/flashd.catalog
/// (`journalctl -x` shows the catalog text; `journalctl MESSAGE_ID=...` finds every occurrence).
/// Log calls attach them as the `message_id` metadata key.
public enum MessageID {
    public static let started = "7b27050c6d5a445dbe3f45b8ed4a38e9"
    public static let ready = "6b9c25ecf3ef4c608e56273babaf2eae"
    public static let recoveryFinished = "c96f1dd507094ef6ad14201625d63d41"
    public static let transactionRecovered = "acdea5fcf6f94ad6894afce0658bfff6"
    public static let backCheckRolledBack = "29cf21bfd88c4d639a8db15e07b208e2"
    public static let redisLost = "5b8daeb3ada34f0db3574b6f0f06e661"
    public static let redisRegained = "88c48e8fe0aa45a18518fa32675fafd0"
    public static let stopping = "723b5c662b76439da951f48283c1fea7"
    public static let reloaded = "cbc4a32f0b4545fa86b8aeb90b548b0e"
    public static let redisBehind = "e3b54a0f1c6d4d3f9a7e2b51c08d6f42"

    public static func metadata(_ id: String) -> Logger.Metadata { ["message_id": "\(id)"] }
}
