import FlashCore
import FlashDelivery
import RedisClient

extension Setting {
    /// Every setting flashd has, in the order help and flashd(1) list them. Adding one is one
    /// line here and one property in `DaemonConfig`; flags, file keys, the reload diff and the
    /// man page follow.
    public static let all: [Setting] = [
        .text("socket", \.socketPath, value: "path", help: "Unix socket to serve on, when systemd passes none."),
        .make("socket-mode", \.socketMode, value: "octal", reload: .restart,
              help: "Permissions of the socket flashd binds (systemd's: flashd.socket's SocketMode=).",
              parse: { text in
                  guard let mode = UInt16(text, radix: 8), mode <= 0o777, mode & 0o600 == 0o600 else {
                      return .refused("must be an octal mode such as 0660, with read and write for the owner")
                  }
                  return .ok(mode)
              },
              show: { "0" + String($0, radix: 8) }),
        .text("socket-group", \.socketGroup, value: "group",
              help: "Group of the socket flashd binds, so a web tier's user (www-data) may connect (systemd's: SocketGroup=).",
              defaultNote: "flashd's own group"),
        .text("redis", \.redis, value: "target",
              help: "Redis: unix:/path, host:port, or the primary named by Redis Sentinels: sentinel://HOST:PORT[,HOST:PORT...]/MASTER.",
              check: { RedisTarget(parsing: $0) == nil ? "must be unix:/path, host:port or sentinel://HOST:PORT[,HOST:PORT...]/MASTER, not \($0)" : nil }),
        .text("redis-prefix", \.redisPrefix, value: "prefix", help: "Prefix of every Redis key flashd writes."),
        .text("redis-user", \.redisUser, value: "name", help: "Redis ACL user to authenticate as (needs a password).",
              defaultNote: "the default user"),
        .text("redis-password-file", \.redisPasswordFile, value: "path",
              help: "File holding the Redis password: AUTH on every connection, the sentinels' too. Keep it mode 0600.",
              defaultNote: "$CREDENTIALS_DIRECTORY/redis-password if systemd passes that credential, else no password"),
        .integer("redis-connections", \.redisConnections, in: 1...64, help: "Redis connections, each pipelining on its own thread."),
        .integer("redis-wait-replicas", \.redisWaitReplicas, in: 0...16,
                 help: "Replicas that must have each purchase's Redis write (WAIT) before it counts; 0 = don't wait."),
        .integer("redis-wait-timeout-ms", \.redisWaitTimeoutMs, in: 1...900, value: "ms",
                 help: "Milliseconds to wait for them; a purchase not confirmed in time stays pending."),
        .text("state-dir", \.stateDir, value: "dir", help: "Directory of the SQLite journal.",
              defaultNote: "$STATE_DIRECTORY, else /var/lib/flashd"),
        .text("node-id", \.nodeID, value: "id", help: "Node id carried in gids and order ids; every flashd sharing a Redis needs its own.",
              defaultNote: "the host name"),
        .seconds("check-delay", \.checkDelay, max: 3600, reload: .live,
                 help: "Seconds a transaction may stay prepared before the timeout check settles it."),
        .toggle("enable-fault-injection", \.faultInjection,
                help: "Allow buy requests to ask for a crash at a fault-injection point (tests only)."),
        .choice("sqlite-sync", \.sqliteSync,
                help: "SQLite durability: full (fsync per commit, survives power loss) or normal (survives a crash of flashd only)."),
        .choice("log-level", \.logLevel, reload: .live, help: "Log level. Successful purchases log at debug."),
        .integer("max-body-bytes", \.maxBodyBytes, in: 1024...(16 << 20), value: "bytes", help: "Largest request body accepted."),
        // Read once, when Redis' settings are checked at start-up.
        .toggle("allow-evicting-redis", \.allowEvictingRedis, help: "Start even when Redis' maxmemory-policy may evict barrier keys."),
        .make("metrics-listen", \.metricsListen, value: "host:port", reload: .restart,
              help: "Also serve GET /metrics and the live sale page (GET /, with the status, sales and orders it shows) "
                  + "over TCP (off: don't). Orders name their buyers: use a loopback address.",
              parse: { text in
                  if text.isEmpty || text == "off" { return .ok(nil) }
                  return hostPort(text) == nil ? .refused("must be host:port or off") : .ok(text)
              },
              show: { $0 ?? "off" }),
        .text("admin-group", \.adminGroup, value: "group",
              help: "Group whose members, besides root, may create, restock and reset sales.",
              check: { $0.isEmpty ? "must name a group" : nil }),
        .text("orders-to", \.ordersTo, value: "url",
              help: "Deliver every order and state change to this PostgreSQL: postgresql://USER@HOST:PORT/DB or postgresql://USER@/DB?host=/run/postgresql.",
              defaultNote: "none: orders stay in the journal (and its feed)",
              check: { url in
                  guard !url.isEmpty else { return nil }
                  do {
                      _ = try PostgresTarget(url: url, password: nil, table: "flashd_orders")
                      return nil
                  } catch {
                      return "is not usable: " + ((error as? DeliveryError)?.message ?? "\(error)")
                  }
              }),
        .text("orders-to-password-file", \.ordersToPasswordFile, value: "path",
              help: "File holding the PostgreSQL password for --orders-to. Keep it mode 0600.",
              defaultNote: "$CREDENTIALS_DIRECTORY/orders-to-password if systemd passes that credential, else no password"),
        .text("orders-table", \.ordersTable, value: "name",
              help: "PostgreSQL table the orders go to (schema.table allowed); created if missing.",
              check: { name in
                  (try? PostgresTarget(url: "postgresql://u@h/d", password: nil, table: name)) == nil
                      ? "must be lower case letters, digits and _, optionally schema.table" : nil
              }),
        .integer("max-connections", \.maxConnections, in: 1...1_000_000, help: "Open connections beyond this get 503 and are closed."),
        .integer("max-inflight", \.maxInflight, in: 1...10_000_000, help: "Requests in progress beyond this get 503 at once."),
        .seconds("request-timeout", \.requestTimeout, max: 3600,
                 help: "Seconds from a request's first byte to its last before the connection is closed."),
        .seconds("idle-timeout", \.idleTimeout, max: 86400, help: "Seconds an idle keep-alive connection stays open."),
    ]

    /// `all` by key.
    public static let named: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
}
