// swift-tools-version:6.0
import PackageDescription

// Layout: C enters only through the three system-library targets and the three small
// Swift wrappers above them (RedisClient, SQLiteStore, Systemd). FlashCore, the
// transaction engine, imports no C and no wrapper: it sees storage only through protocols.
// flashsalectl links Control only, so it carries neither hiredis nor sqlite.
let package = Package(
    name: "flashd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flashd", targets: ["flashd"]),
        .executable(name: "flashsalectl", targets: ["flashsalectl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // Delivery of orders to the shop's PostgreSQL (optional, off by default).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", providers: [.apt(["libsystemd-dev"])]),

        .target(name: "RedisClient", dependencies: ["CHiredis"]),
        // The power-cut VFS, for tests only (registered when fault injection asks for it).
        .target(name: "CPowerCut", dependencies: ["CSQLite"]),
        .target(name: "CPreciseWait"),
        .target(name: "SQLiteStore", dependencies: ["CSQLite", "CPowerCut"]),
        .target(name: "Systemd", dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]),

        .target(name: "FlashCore", dependencies: [
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "FlashStorage", dependencies: [
            "FlashCore", "RedisClient", "SQLiteStore",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "Control", dependencies: []),
        // The deliverer's PostgreSQL side: one connection, the table, the batched upsert.
        .target(name: "FlashDelivery", dependencies: [
            "FlashCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The HTTP layer: NIO's HTTP/1.1 pipeline, the route table, access and limits.
        .target(name: "FlashHTTP", dependencies: [
            "FlashCore", "Control",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The daemon: its settings table, the start, the services, the one teardown.
        .target(name: "FlashDaemon", dependencies: [
            "FlashCore", "FlashStorage", "FlashHTTP", "FlashDelivery", "Control", "Systemd", "RedisClient", "SQLiteStore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "flashd", dependencies: [
            "FlashDaemon", "Control",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "flashsalectl", dependencies: [
            "Control",
            "CPreciseWait",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            // `bench`'s latency percentiles.
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),

        // Spawns real redis-server and flashd processes for the tests; never shipped.
        .target(name: "TestSupport", dependencies: ["Control", "FlashCore"], path: "Tests/TestSupport"),
        // `make torture`: randomized kill -9 rounds against the real binaries; never shipped.
        .executableTarget(name: "flashd-torture", dependencies: ["TestSupport", "Control"], path: "Tests/Torture"),
        // `make bench`: the journal alone, the ceiling SQLite puts on purchases; never shipped.
        .executableTarget(name: "flashd-journal-bench", dependencies: ["FlashCore", "FlashStorage"], path: "Tests/JournalBench"),
        .testTarget(name: "FlashCoreTests", dependencies: ["FlashCore", "TestSupport"]),
        .testTarget(name: "FlashStorageTests", dependencies: ["FlashCore", "FlashStorage", "RedisClient", "SQLiteStore", "TestSupport"]),
        // The C wrappers on their own: hiredis replies into values against a real redis-server,
        // SQLite statements and error classes on real files.
        .testTarget(name: "FlashDaemonTests", dependencies: ["FlashDaemon", "FlashStorage", "FlashDelivery", "Control", "TestSupport",
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "WrapperTests", dependencies: ["RedisClient", "SQLiteStore", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Control", "TestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: [
            "FlashHTTP", "FlashCore", "Control", "TestSupport",
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["corpus"]),
    ]
)
