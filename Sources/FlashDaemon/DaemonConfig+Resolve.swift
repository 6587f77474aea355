import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

extension DaemonConfig {
    /// Defaults, then the config file, then flags. `configFile`: the path `--config` named (nil:
    /// the default file, if it exists); `flags`: the command line's setting flags, as
    /// `--key value`, `--key=value` or a bare `--switch`.
    public static func resolve(configFile: String?, flags: [String],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> DaemonConfig {
        var c = DaemonConfig()
        if let dir = environment["STATE_DIRECTORY"], !dir.isEmpty {
            // systemd may pass several, colon-separated; the first is ours.
            c.stateDir = String(dir.split(separator: ":").first ?? Substring(dir))
        }
        c.nodeID = hostName()
        let path = configFile ?? defaultConfigFile
        if configFile != nil || access(path, F_OK) == 0 {
            try c.apply(configFile: path, text: try readFile(path))
            c.configFile = path
        }
        for (setting, value) in try parse(flags: flags) {
            try setting.apply(&c, value)
        }
        return c
    }

    /// The command line's setting flags, in order, each with its value's text.
    static func parse(flags: [String]) throws(ConfigError) -> [(Setting, String)] {
        var out: [(Setting, String)] = []
        var rest = flags[...]
        while let arg = rest.popFirst() {
            guard arg.hasPrefix("--"), arg.count > 2 else { throw ConfigError(.unknownKey, "unexpected argument '\(arg)'") }
            let body = arg.dropFirst(2)
            let (name, inline) = body.firstIndex(of: "=").map { (String(body[..<$0]), Optional(String(body[body.index(after: $0)...]))) }
                ?? (String(body), nil)
            guard let setting = Setting.named[name] else { throw ConfigError(.unknownKey, "unknown option '--\(name)'") }
            if let inline {
                out.append((setting, inline))
            } else if setting.isSwitch {
                out.append((setting, "yes"))
            } else {
                // A value that looks like the next flag is a forgotten value, not a value.
                guard let value = rest.first, !value.hasPrefix("--") else {
                    throw ConfigError(.missingValue, "missing value for '--\(name) <\(setting.valueName ?? "value")>'")
                }
                rest.removeFirst()
                out.append((setting, value))
            }
        }
        return out
    }

    /// Reads a whole file with plain read(2), which also works for /dev/null and pipes.
    static func readFile(_ path: String) throws(ConfigError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError(.unreadable, inConfigFile: true, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ConfigError(.unreadable, inConfigFile: true, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count <= 1 << 20 else { throw ConfigError(.unreadable, inConfigFile: true, "\(path) is larger than 1 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "flashd" }
        // The whole name, not its first label: web1.a and web1.b must not share a node id, or
        // their gids would collide in a shared Redis.
        let name = String(cString: buf)
        return name.isEmpty ? "flashd" : name
    }
}
