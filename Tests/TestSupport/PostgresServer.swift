import Foundation

/// A real PostgreSQL 15 from Debian, private to one test: `initdb` in a short temporary
/// directory, listening only on its Unix socket there, run as the `postgres` user (initdb
/// refuses root). Local connections are trusted, except the role `shop`, which must give its
/// password (for the credential tests).
public final class PostgresServer: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, from one task at a time.
    public let dir: String
    public var dataDir: String { dir + "/data" }
    /// What `--orders-to` takes for this server, as the superuser.
    public var url: String { "postgresql://postgres@/postgres?host=\(dir)" }
    public private(set) var running = false

    public static let binDir = "/usr/lib/postgresql/15/bin"

    public init() throws {
        dir = try TempDir.make(prefix: "pg")
        try Shell.run("/bin/chown", ["postgres:postgres", dir])
        chmod(dir, 0o755)
        try asPostgres("\(Self.binDir)/initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        let hba = "local all shop scram-sha-256\nlocal all all trust\n"
        try hba.write(toFile: dataDir + "/pg_hba.conf", atomically: true, encoding: .utf8)
        try Shell.run("/bin/chown", ["postgres:postgres", dataDir + "/pg_hba.conf"])
        try start()
    }

    deinit {
        stopImmediately()
        try? FileManager.default.removeItem(atPath: dir)
    }

    public func start() throws {
        // fsync off: a crash of PostgreSQL itself (`stopImmediately`) still recovers from its
        // WAL in the page cache; only a power cut would need it, and no test cuts this one's.
        try asPostgres("\(Self.binDir)/pg_ctl", ["-D", dataDir, "-l", dir + "/pg.log", "-w", "-t", "30",
                                                 "-o", "-k \(dir) -c listen_addresses='' -c fsync=off", "start"])
        running = true
    }

    /// `pg_ctl stop -m immediate`: PostgreSQL's crash, every connection cut mid-statement.
    public func stopImmediately() {
        guard running else { return }
        _ = try? asPostgres("\(Self.binDir)/pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"])
        running = false
    }

    /// psql's unaligned, tuples-only output of `sql`, trimmed.
    @discardableResult
    public func psql(_ sql: String, user: String = "postgres") throws -> String {
        try Shell.run("/usr/bin/psql", ["-h", dir, "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An integer result.
    public func count(_ sql: String) throws -> Int {
        guard let n = Int(try psql(sql)) else { throw TestFailure("not a number from: \(sql)") }
        return n
    }

    /// Runs a PostgreSQL program as `postgres`, its output into `tools.log`. Through system(3),
    /// not `Process`, and with every descriptor above 2 closed first: the server pg_ctl starts
    /// would inherit them, and Foundation learns that a child ended when a descriptor the child
    /// holds is closed, so an inherited one would hide the end of every process the test runs.
    private func asPostgres(_ path: String, _ args: [String]) throws {
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let logPath = dir + "/tools.log"
        let command = ([path] + args).map(quoted).joined(separator: " ")
        let script = "for fd in $(ls /proc/$$/fd); do [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\"; done; "
            + "exec /usr/sbin/runuser -u postgres -- \(command) </dev/null >>\(quoted(logPath)) 2>&1"
        let status = system("/bin/bash -c \(quoted(script))")
        guard status == 0 else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TestFailure("\(path) \(args.joined(separator: " ")) exited \(status): \(text.suffix(2000))")
        }
    }
}
