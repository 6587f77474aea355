import FoundationEssentials

/// One of flashd's settings, declared once: its key (the long flag without dashes, and the
/// config file key), how its text becomes the live value in `DaemonConfig`, what `--help` and
/// the man page say of it, and whether a reload applies it. The flags, the config file, the
/// reload diff and flashd(1) are all read from `Setting.all`.
public struct Setting: Sendable {
    public enum Reload: Sendable, Equatable {
        /// SIGHUP applies a new value to the running daemon.
        case live
        /// A new value takes effect at the next start; a reload warns that it was ignored.
        case restart
    }

    /// What a setting's parser makes of a text: the value, or why it can't be one.
    enum Parsed<V> {
        case ok(V)
        case refused(String)
    }

    public let key: String
    /// How the value is named in help (`<seconds>`); nil for a switch, which takes no value on
    /// the command line (`--allow-evicting-redis`) and yes/no in the config file.
    public let valueName: String?
    public let help: String
    public let reload: Reload
    /// How the default reads in help when it isn't the initial value (from the environment).
    let defaultNote: String?
    let apply: @Sendable (inout DaemonConfig, String) throws(ConfigError) -> Void
    let same: @Sendable (DaemonConfig, DaemonConfig) -> Bool
    let show: @Sendable (DaemonConfig) -> String

    public var flag: String { "--" + key }
    public var isSwitch: Bool { valueName == nil }

    /// The default as help shows it.
    public var defaultText: String { defaultNote ?? show(DaemonConfig()) }

    /// The general form: `parse` turns the text into the value or says what's wrong with it.
    static func make<V: Equatable & Sendable>(
        _ key: String, _ path: WritableKeyPath<DaemonConfig, V> & Sendable, value valueName: String?, reload: Reload,
        help: String, defaultNote: String? = nil,
        parse: @escaping @Sendable (String) -> Parsed<V>, show: @escaping @Sendable (V) -> String
    ) -> Setting {
        Setting(key: key, valueName: valueName, help: help, reload: reload, defaultNote: defaultNote,
                apply: { (config: inout DaemonConfig, text: String) throws(ConfigError) in
                    switch parse(text) {
                    case .ok(let v): config[keyPath: path] = v
                    case .refused(let why): throw ConfigError(.badValue, "\(key) \(why)")
                    }
                },
                same: { $0[keyPath: path] == $1[keyPath: path] },
                show: { show($0[keyPath: path]) })
    }

    static func text(_ key: String, _ path: WritableKeyPath<DaemonConfig, String> & Sendable, value: String, reload: Reload = .restart,
                     help: String, defaultNote: String? = nil,
                     check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Setting {
        make(key, path, value: value, reload: reload, help: help, defaultNote: defaultNote,
             parse: { text in check(text).map { .refused($0) } ?? .ok(text) }, show: { $0 })
    }

    static func integer(_ key: String, _ path: WritableKeyPath<DaemonConfig, Int> & Sendable, in range: ClosedRange<Int>,
                        value: String = "n", reload: Reload = .restart, help: String) -> Setting {
        make(key, path, value: value, reload: reload, help: help,
             parse: { text in Int(text).flatMap { range.contains($0) ? .ok($0) : nil } ?? .refused("must be an integer in \(range)") },
             show: { String($0) })
    }

    /// Seconds in the text (fractions allowed), a `Duration` in the config.
    static func seconds(_ key: String, _ path: WritableKeyPath<DaemonConfig, Duration> & Sendable, max: Int,
                        reload: Reload = .restart, help: String) -> Setting {
        make(key, path, value: "seconds", reload: reload, help: help,
             parse: { text in
                 guard let s = Double(text), s > 0, s <= Double(max) else { return .refused("must be seconds in (0, \(max)]") }
                 return .ok(.milliseconds(Int64((s * 1000).rounded())))
             },
             show: { d in
                 let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
                 return ms % 1000 == 0 ? String(ms / 1000) : String(Double(ms) / 1000)
             })
    }

    /// One of an enumeration's raw values.
    static func choice<V: RawRepresentable & CaseIterable & Equatable & Sendable>(
        _ key: String, _ path: WritableKeyPath<DaemonConfig, V> & Sendable, reload: Reload = .restart, help: String
    ) -> Setting where V.RawValue == String {
        let names = V.allCases.map(\.rawValue)
        let list = names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return make(key, path, value: names.joined(separator: "|"), reload: reload, help: help,
                    parse: { V(rawValue: $0).map { .ok($0) } ?? .refused("must be \(list)") }, show: { $0.rawValue })
    }

    /// On or off: a bare flag on the command line, yes/no in the config file.
    static func toggle(_ key: String, _ path: WritableKeyPath<DaemonConfig, Bool> & Sendable, reload: Reload = .restart,
                       help: String) -> Setting {
        make(key, path, value: nil, reload: reload, help: help,
             parse: { text in
                 switch text.lowercased() {
                 case "1", "yes", "true", "on": return .ok(true)
                 case "0", "no", "false", "off": return .ok(false)
                 default: return .refused("must be yes or no")
                 }
             },
             show: { $0 ? "yes" : "no" })
    }
}
