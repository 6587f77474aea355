import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import TestSupport
@testable import FlashCore
@testable import FlashHTTP

/// Hostile input for the request decoder and the router: mutated requests from the corpus in
/// Tests/FuzzTests/corpus go through NIO's HTTP decoder (as on the socket) and, when they decode,
/// through flashd's router. Properties: no crash, no hang (every answer within a second), every
/// answer a valid status with a JSON body, and memory bounded.
///
/// FUZZ_INPUTS sets the count (default 30,000; `make fuzz` runs 1,000,000 in release);
/// FUZZ_SEED replays a run.
@Suite struct RouterFuzzTests {
    static let corpusDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("corpus").path

    @Test func hostileRequestsNeverCrashHangOrLeak() async throws {
        let env = ProcessInfo.processInfo.environment
        let inputs = Int(env["FUZZ_INPUTS"] ?? "") ?? 30_000
        let seed = UInt64(env["FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        let corpus = try FileManager.default.contentsOfDirectory(atPath: Self.corpusDir).sorted().map {
            Array(try Data(contentsOf: URL(fileURLWithPath: Self.corpusDir + "/" + $0)))
        }
        #expect(corpus.count >= 8)

        let coordinator = Coordinator(
            config: CoordinatorConfig(node: "fuzz", faultInjection: true), stock: MemoryStockStore(), journal: MemoryJournal(),
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }), wallClockMs: { 0 }, fatalFault: { _ in })
        let info = Router.DaemonInfo(redisTarget: "memory", journalPath: "memory", faultInjection: true, metrics: { "" }, wedge: {})
        let router = Router(coordinator: coordinator, info: info, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try await coordinator.createSale(item: "sku", stock: 1_000_000, limitPerUser: 3)

        var rng = SplitMix64(seed: seed &+ 1)
        let mutator = Mutator()
        let rssBefore = Self.residentBytes()
        var decoded = 0
        var statuses: [Int: Int] = [:]
        let started = Date()
        for i in 0..<inputs {
            let input = mutator.mutate(corpus[Int(rng.next() % UInt64(corpus.count))], &rng)
            for request in Self.decode(input) {
                decoded += 1
                let t0 = ContinuousClock.now
                let peer = Peer(pid: 1, uid: rng.next() % 2 == 0 ? 0 : 1000, gid: 1000, isAdmin: rng.next() % 2 == 0)
                // As HTTPHandler does: the event-loop answers (ping, sold-out gate) first.
                let req = Request(method: request.0, uri: request.1, body: request.2, peer: peer)
                let response: Response
                switch router.immediate(req) {
                case .answer(let answer): response = answer
                case .buy(let body): response = await router.handle(req, buy: body)
                case .pass: response = await router.handle(req)
                }
                let took = ContinuousClock.now - t0
                let code = Int(response.status.code)
                statuses[code, default: 0] += 1
                if took > .seconds(1) { Issue.record("input \(i) (seed \(seed)) took \(took)") }
                if !(200..<600).contains(code) { Issue.record("input \(i) (seed \(seed)) answered \(code)") }
                // Everything but the Prometheus text (whatever spelling of /metrics reached it) is JSON.
                if !response.headers.contains(where: { $0.0 == "Content-Type" && $0.1.hasPrefix("text/plain") }) {
                    let json = try? JSONSerialization.jsonObject(with: Data(response.body))
                    if json == nil { Issue.record("input \(i) (seed \(seed)): body is not JSON: \(response.body.prefix(80))") }
                    if code >= 400, (json as? [String: Any])?["error"] == nil {
                        Issue.record("input \(i) (seed \(seed)): error \(code) without an error code")
                    }
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let growth = Self.residentBytes() - rssBefore
        print("fuzz: \(inputs) inputs (\(decoded) decoded requests) in \(Int(seconds)) s, seed \(seed), RSS +\(growth >> 20) MiB, "
              + "statuses \(statuses.sorted { $0.key < $1.key })")
        #expect(growth < 256 << 20, "RSS grew by \(growth >> 20) MiB")
    }

    /// The requests NIO's decoder finds in `bytes` (as the socket pipeline would), each as
    /// (method, uri, body). Decoding errors end the input, as they close the connection there.
    static func decode(_ bytes: [UInt8]) -> [(HTTPMethod, String, [UInt8])] {
        let channel = EmbeddedChannel()
        let collector = Collector()
        try? channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try? channel.pipeline.syncOperations.addHandler(collector)
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        _ = try? channel.writeInbound(buffer)
        _ = try? channel.finish()
        return collector.requests
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var requests: [(HTTPMethod, String, [UInt8])] = []
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = []
            case .body(var b):
                // The socket path caps bodies at 64 KiB before the router sees them.
                if body.count < 65536 { body += b.readBytes(length: b.readableBytes) ?? [] }
            case .end:
                if let head { requests.append((head.method, head.uri, body)) }
                head = nil
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {}
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}

/// Mutations that find parser and validation bugs: bit flips, byte insertions and deletions,
/// splices of tokens that mean something to flashd, and truncation.
struct Mutator {
    static let tokens: [String] = [
        "/v1/purchases", "/v1/sales", "/v1/sales/sku", "/v1/sales/sku/reset", "/v1/sales/sku/restock", "/v1/txns", "/v1/orders",
        "/v1/audit", "/v1/status", "/v1/debug/wedge", "/metrics", "?state=", "&limit=", "%00", "..", "//", "GET", "POST", "PUT",
        "DELETE", "HEAD", "\"item\"", "\"user\"", "\"request_id\"", "\"crash_after\"", "\"crash_mode\"", "\"stock\"", "\"add\"",
        "\"limit_per_user\"", "null", "true", "-1", "0", "9223372036854775807", "1e309", "\"\\u0000\"", "\"after-stock\"",
        "\"exit\"", "\"abandon\"", "{", "}", "[", "]", ",", ":", "\"", "\r\n", "\r\n\r\n", "Content-Length: 99999999\r\n",
        "Transfer-Encoding: chunked\r\n", "Connection: close\r\n", String(repeating: "A", count: 300), "é", "\u{FFFF}",
    ]

    func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let pos = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0 where !bytes.isEmpty: bytes[pos] ^= UInt8(1 << (rng.next() % 8))
            case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
            case 2 where !bytes.isEmpty: bytes.remove(at: pos)
            case 3, 4: bytes.insert(contentsOf: Array(Self.tokens[Int(rng.next() % UInt64(Self.tokens.count))].utf8), at: pos)
            default: bytes = Array(bytes.prefix(pos))
            }
        }
        return bytes
    }
}
