import Control

/// flashd's --help text and flashd(1), both written from `Setting.all`, so neither can
/// drift from the settings the daemon takes. `make man` writes the page to packaging/man,
/// and a test fails when the page there is not this one.
public enum ManPage {
    public static let abstract = "Sells limited stock in a flash sale without losing or inventing a unit."

    public static let description = """
        Serves HTTP/1.1 + JSON on a Unix socket, deducts stock in Redis with one Lua script per \
        purchase, journals every global transaction in SQLite before touching Redis, and settles \
        unfinished transactions by itself after a crash. Settings come from the config file \
        (key = value, the long option names without dashes) and are overridden by options.
        """

    public static let configHelp = "Config file (default \(DaemonConfig.defaultConfigFile) if it exists)."

    /// The settings as `--help` lists them: ArgumentParser declares only --config, so every
    /// setting is listed here, laid out like its own options. Lines stay under 80 columns,
    /// where ArgumentParser would wrap them again.
    public static var helpText: String {
        var lines = [description, "", "SETTINGS:"]
        for s in Setting.all {
            let name = s.isSwitch ? "  \(s.flag)" : "  \(s.flag) <\(s.valueName ?? "value")>"
            let text = "\(s.help) (default: \(s.defaultText)\(s.reload == .live ? "; applied by a reload" : ""))"
            let body = text.wrapped(width: 79 - 26)
            if name.count < 25 {
                lines.append(name.padding(to: 26) + body[0])
                lines += body.dropFirst().map { String(repeating: " ", count: 26) + $0 }
            } else {
                lines.append(name)
                lines += body.map { String(repeating: " ", count: 26) + $0 }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The page in mdoc. `date`: its .Dd line ("December 5, 2026").
    public static func render(date: String) -> String {
        var page = [
            ".\\\" Written by flashd's ManPage.render from its settings table: run make man, don't edit.",
            ".Dd \(date)", ".Dt FLASHD 1", ".Os", ".Sh NAME", ".Nm flashd", ".Nd \"\(abstract)\"", ".Sh SYNOPSIS", ".Nm",
            ".Op Fl -config Ar file",
        ]
        for s in Setting.all { page.append(".Op " + flagMacro(s)) }
        page += [".Op Fl -version", ".Op Fl -help", ".Sh DESCRIPTION", escape(description), ".Sh OPTIONS", ".Bl -tag -width 6n",
                 ".It Fl -config Ar file", escape(configHelp)]
        for s in Setting.all {
            page.append(".It " + flagMacro(s))
            page.append(escape(s.help))
            page.append("Default: " + escape(s.defaultText) + (s.reload == .live ? "; a reload applies a new value." : "."))
        }
        page += [".It Fl -version", "Show the version.", ".It Fl h , -help", "Show help information.", ".El",
                 ".Sh FILES", ".Bl -tag -width 6n",
                 ".It Pa \(DaemonConfig.defaultConfigFile)",
                 "Settings, one key = value per line; # starts a comment. The keys are the long option names above "
                     + "without their dashes; an unknown key or a bad value stops the start with the line's number.",
                 ".It Pa /var/lib/flashd/flashd.db",
                 "The SQLite journal of every global transaction (in the state directory).",
                 ".It Pa /usr/share/doc/flashd/openapi.json",
                 "The HTTP API on the socket, as an OpenAPI 3.1 document; the daemon serves the same at GET /v1/openapi.json.",
                 ".El",
                 ".Sh SIGNALS", ".Bl -tag -width 6n",
                 ".It Dv SIGHUP",
                 "Reads the config file again and applies "
                     + Setting.all.filter { $0.reload == .live }.map(\.key).joined(separator: " and ")
                     + "; a changed setting of any other key is logged as needing a restart.",
                 ".It Dv SIGTERM",
                 "Stops taking purchases, finishes those in flight (up to 10 seconds), and exits.",
                 ".El",
                 ".Sh ENVIRONMENT", ".Bl -tag -width 6n",
                 ".It Ev NOTIFY_SOCKET",
                 "Set by systemd (Type=notify): READY=1 after recovery, STATUS=, WATCHDOG=1, RELOADING=1 and STOPPING=1 go there.",
                 ".It Ev LISTEN_FDS , Ev LISTEN_PID",
                 "Socket activation: the listening socket flashd.socket passes, served instead of --socket.",
                 ".It Ev STATE_DIRECTORY",
                 "The default state directory (systemd's StateDirectory=).",
                 ".It Ev CREDENTIALS_DIRECTORY",
                 "systemd credentials (LoadCredential=): redis-password and orders-to-password, read when no password file is set.",
                 ".It Ev JOURNAL_STREAM",
                 "Set by systemd when stderr is the journal: log lines go to the journal with their fields.",
                 ".El",
                 ".Sh EXIT STATUS", "0 after a clean stop (SIGTERM); 78 (EX_CONFIG) for an error in the config file; "
                     + "64 for a bad option or value; another non-zero status when the start is refused (Redis refuses the "
                     + "password, the journal can't be opened, the node id is live elsewhere), with the reason on stderr and "
                     + "in the journal. An unreachable Redis does not stop the start: flashd serves 503 until it is back.",
                 ".Sh EXAMPLES",
                 "By hand, with a private Redis and state directory:",
                 ".Dl flashd --socket /tmp/f.sock --redis unix:/tmp/redis.sock --state-dir /tmp/flashd",
                 "A second node on the same Redis (each node its own id and state):",
                 ".Dl flashd --node-id web-b --redis 10.0.0.5:6379 --state-dir /var/lib/flashd-b",
                 "Orders delivered to PostgreSQL over its socket, the password from a file:",
                 ".Dl flashd --orders-to postgresql://shop@/shop?host=/run/postgresql --orders-to-password-file /etc/flashd/pg-password",
                 "As a service: systemctl start flashd; journalctl -u flashd.",
                 ".Sh SEE ALSO", ".Xr flashd.conf 5 ,", ".Xr flashsalectl 1 ,", ".Xr systemctl 1 ,", ".Xr journalctl 1",
                 ".Sh VERSION", "flashd \(API.version)"]
        return page.joined(separator: "\n") + "\n"
    }

    /// flashd.conf(5) in mdoc: the file's syntax and every key, from the same table.
    public static func renderConf(date: String) -> String {
        var page = [
            ".\\\" Written by flashd's ManPage.renderConf from its settings table: run make man, don't edit.",
            ".Dd \(date)", ".Dt FLASHD.CONF 5", ".Os", ".Sh NAME", ".Nm flashd.conf", ".Nd \"settings of flashd\"",
            ".Sh SYNOPSIS", ".Pa \(DaemonConfig.defaultConfigFile)",
            ".Sh DESCRIPTION",
            "One setting per line, as key = value; # starts a comment, blank lines are ignored. The keys are",
            "flashd's long option names without their dashes, and an option given on the command line wins",
            "over the file. An unknown key or a bad value stops flashd's start with the line's number",
            "(exit status 78). A switch takes yes or no. systemctl reload flashd re-reads the file and",
            "applies the keys marked below; the others take effect at the next start, and the reload",
            "logs which of them changed.",
            ".Sh KEYS", ".Bl -tag -width 6n",
        ]
        for s in Setting.all {
            page.append(".It Cm \(s.key) Ar \(s.valueName ?? "yes|no")")
            page.append(escape(s.help))
            page.append("Default: " + escape(s.defaultText) + (s.reload == .live ? "; a reload applies a new value." : "."))
        }
        page += [".El",
                 ".Sh FILES", ".Bl -tag -width 6n", ".It Pa \(DaemonConfig.defaultConfigFile)",
                 "The file flashd reads when --config names no other.", ".El",
                 ".Sh EXAMPLES", ".Bd -literal -offset indent",
                 "redis = unix:/run/redis/redis-server.sock", "redis-wait-replicas = 1", "log-level = notice", ".Ed",
                 ".Sh SEE ALSO", ".Xr flashd 1 ,", ".Xr flashsalectl 1"]
        return page.joined(separator: "\n") + "\n"
    }

    private static func flagMacro(_ s: Setting) -> String {
        s.isSwitch ? "Fl -\(s.key)" : "Fl -\(s.key) Ar \(s.valueName ?? "value")"
    }

    /// Plain text for a roff line: backslashes escaped, and no line read as a request.
    private static func escape(_ text: String) -> String {
        let t = text.replacing("\\", with: "\\e")
        return t.hasPrefix(".") || t.hasPrefix("'") ? "\\&" + t : t
    }
}

extension String {
    /// Words wrapped into lines of at most `width` columns (a longer word gets a line of its own).
    func wrapped(width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? String(word) : " " + word
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
