/// A setting flashd can't take: its code says which kind of mistake, the message where and why.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// A config file line that isn't `key = value`.
        case syntax
        /// A key or flag no setting has.
        case unknownKey
        /// A value the setting's parser refuses.
        case badValue
        /// A flag given without its value.
        case missingValue
        /// The config file can't be read.
        case unreadable
    }

    public let code: Code
    public let message: String
    /// The config file is at fault (not a flag): flashd exits with EX_CONFIG (78) for it, as
    /// daemons do, and with 64 (usage) for a bad flag.
    public let inConfigFile: Bool

    public init(_ code: Code, _ message: String, inConfigFile: Bool = false) {
        self.code = code
        self.message = message
        self.inConfigFile = inConfigFile
    }

    init(_ code: Code, inConfigFile: Bool, _ message: String) {
        self.init(code, message, inConfigFile: inConfigFile)
    }

    public var description: String { message }
}
