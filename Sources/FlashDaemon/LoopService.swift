import ServiceLifecycle

/// One of the daemon's background loops as a service: it runs until the loop returns, and a
/// graceful shutdown cancels it (the loops end at their next sleep).
struct LoopService: Service, CustomStringConvertible {
    let description: String
    let loop: @Sendable () async -> Void

    init(_ name: String, _ loop: @escaping @Sendable () async -> Void) {
        self.description = name
        self.loop = loop
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }
}
