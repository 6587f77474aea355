import FlashCore
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// `OrderSink` on the shop's PostgreSQL: one connection, made again whenever it breaks, and one
/// statement per batch. The deliverer is a single sequential loop, so a pool would only add
/// connections PostgreSQL has to keep.
public actor PostgresOrderSink: OrderSink {
    public nonisolated let target: String
    private let config: PostgresTarget
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let timeout: Duration
    private var connection: PostgresConnection?
    private var connections = 0

    /// `logger`: postgres-nio's own messages go to it at warning and above.
    public init(_ config: PostgresTarget, eventLoop: any EventLoop, logger: Logger, timeout: Duration = .seconds(10)) {
        self.config = config
        self.target = config.display
        self.eventLoop = eventLoop
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        self.logger = quiet
        self.timeout = timeout
    }

    /// The table's columns, as README documents them.
    static func createTable(_ table: String) -> String {
        """
        CREATE TABLE \(table) (
            order_id text PRIMARY KEY,
            gid text NOT NULL,
            node text NOT NULL,
            item text NOT NULL,
            round integer NOT NULL,
            "user" text NOT NULL,
            request_id text NOT NULL,
            state text NOT NULL CHECK (state IN ('final', 'held', 'confirmed', 'released')),
            release_cause text,
            ordered_at timestamptz NOT NULL,
            expires_at timestamptz,
            updated_at timestamptz NOT NULL
        )
        """
    }

    static let columns = #"order_id, gid, node, item, round, "user", request_id, state, release_cause, ordered_at, expires_at, updated_at"#

    public func prepare() async throws {
        try await run("prepare the table") { conn in
            let table = self.config.quotedTable
            let exists = try await conn.query(PostgresQuery(unsafeSQL: "SELECT to_regclass('\(table)') IS NOT NULL"), logger: self.logger)
                .collect().first?.decode(Bool.self) ?? false
            if !exists {
                try await conn.query(PostgresQuery(unsafeSQL: Self.createTable(table)), logger: self.logger)
                self.logger.notice("created the orders table", metadata: ["target": "\(self.target)"])
            }
            // The shape delivery writes, and the rights it needs: a missing one is named now,
            // not found by the first batch.
            try await conn.query(PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM \(table) LIMIT 0"), logger: self.logger)
            for right in ["SELECT", "INSERT", "UPDATE"] {
                let ok = try await conn.query(PostgresQuery(unsafeSQL: "SELECT has_table_privilege('\(table)', '\(right)')"), logger: self.logger)
                    .collect().first?.decode(Bool.self) ?? false
                guard ok else {
                    throw DeliveryError(.refused, "user \(self.config.user) lacks \(right) on \(self.config.table): GRANT SELECT, INSERT, UPDATE ON \(self.config.table) TO \(self.config.user)")
                }
            }
        }
    }

    public func upsert(_ changes: [OrderChange]) async throws {
        guard !changes.isEmpty else { return }
        var orderIDs: [String] = [], gids: [String] = [], nodes: [String] = [], items: [String] = [], rounds: [Int64] = []
        var users: [String] = [], requestIDs: [String] = [], states: [String] = [], causes: [String] = []
        var orderedMs: [Int64] = [], expiresMs: [Int64] = [], updatedMs: [Int64] = []
        for c in changes {
            let o = c.order
            orderIDs.append(o.orderID); gids.append(o.gid); nodes.append(c.node); items.append(o.item); rounds.append(Int64(o.round))
            users.append(o.user); requestIDs.append(o.requestID); states.append(c.state.rawValue)
            causes.append(c.state == .released ? o.releaseCause?.rawValue ?? "" : "")
            orderedMs.append(o.createdMs); expiresMs.append(o.expiresMs ?? -1); updatedMs.append(c.atMs)
        }
        var binds = PostgresBindings(capacity: 12)
        for texts in [orderIDs, gids, nodes, items] { binds.append(texts) }
        binds.append(rounds)
        for texts in [users, requestIDs, states, causes] { binds.append(texts) }
        for ms in [orderedMs, expiresMs, updatedMs] { binds.append(ms) }
        let table = config.quotedTable
        // One statement: the batch is in or it isn't. A row moves only to a later state, so a
        // batch sent again (a crash before the mark) changes nothing.
        let sql = """
            INSERT INTO \(table) (\(Self.columns))
            SELECT o, g, n, i, r::integer, u, q, s, NULLIF(rc, ''), to_timestamp(om / 1000.0),
                   CASE WHEN em < 0 THEN NULL ELSE to_timestamp(em / 1000.0) END, to_timestamp(um / 1000.0)
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::text[],
                        $9::text[], $10::int8[], $11::int8[], $12::int8[]) AS b(o, g, n, i, r, u, q, s, rc, om, em, um)
            ON CONFLICT (order_id) DO UPDATE
                SET state = excluded.state, release_cause = excluded.release_cause, updated_at = excluded.updated_at
                WHERE (CASE \(table).state WHEN 'held' THEN 1 ELSE 2 END) < (CASE excluded.state WHEN 'held' THEN 1 ELSE 2 END)
            """
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        _ = try await run("deliver \(changes.count) orders") { conn in
            try await conn.query(query, logger: self.logger)
        }
    }

    public func liveOrders() async throws -> [ItemRound: Int] {
        let sql = "SELECT item, round, COUNT(*) FROM \(config.quotedTable) WHERE state <> 'released' GROUP BY item, round"
        let logger = self.logger
        return try await run("count the orders") { conn in
            var counts: [ItemRound: Int] = [:]
            for try await (item, round, n) in try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                .decode((String, Int, Int).self) {
                counts[ItemRound(item: item, round: round)] = n
            }
            return counts
        }
    }

    public func close() async {
        if let connection { try? await connection.close() }
        connection = nil
    }

    // MARK: plumbing

    /// Runs `body` on the connection (made first if need be) within the timeout; on any
    /// failure of the connection itself it is dropped, and the next call makes a new one.
    private func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let conn = try await connected()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body(conn) }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    // Timed out: closing fails the query still running, so the group can end.
                    conn.close().whenComplete { _ in }
                    throw DeliveryError(.timeout, "PostgreSQL did not \(what) within \(timeout.milliseconds) ms")
                }
                return value
            }
        } catch {
            let e = Self.classify(error, what)
            if e.code != .refused || conn.isClosed {
                try? await conn.close()
                if connection === conn { connection = nil }
            }
            throw e
        }
    }

    private func connected() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        var pg: PostgresConnection.Configuration
        if let socket = config.socketPath {
            pg = .init(unixSocketPath: socket, username: config.user, password: config.password, database: config.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch config.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            pg = .init(host: config.host ?? "", port: config.port, username: config.user, password: config.password,
                       database: config.database, tls: tls)
        }
        pg.options.connectTimeout = .milliseconds(timeout.milliseconds)
        connections += 1
        do {
            let conn = try await PostgresConnection.connect(on: eventLoop, configuration: pg, id: connections, logger: logger)
            connection = conn
            return conn
        } catch {
            throw Self.classify(error, "connect")
        }
    }

    /// PostgreSQL's answer in the deliverer's terms: the SQLSTATE classes that need an
    /// operator (28 authentication, 3D no such database, 42 rights and the table's shape) are
    /// `refused`; a connection that broke or never came is `unreachable`.
    static func classify(_ error: any Error, _ what: String) -> DeliveryError {
        if let e = error as? DeliveryError { return e }
        guard let e = error as? PSQLError else { return DeliveryError(.failed, "\(what): \(error)") }
        if e.code == .server, let info = e.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = "\(what): \(info[.message] ?? "error") (SQLSTATE \(state))"
            return DeliveryError(["28", "3D", "42"].contains(String(state.prefix(2))) ? .refused : .failed, message)
        }
        switch e.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return DeliveryError(.unreachable, "\(what): \(e.underlying.map { "\($0)" } ?? "\(e.code)")")
        case .authMechanismRequiresPassword:
            return DeliveryError(.refused, "\(what): PostgreSQL asks for a password; give --orders-to-password-file")
        default:
            return DeliveryError(.failed, "\(what): \(e.code)")
        }
    }
}
