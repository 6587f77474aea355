import Control
import Foundation
import Testing
import TestSupport
@testable import FlashHTTP

/// The hand-written purchase codec against Foundation's, on the same inputs: whatever the fast
/// decoder accepts, JSONDecoder must accept with the same values (the fast one may only decline,
/// never disagree), and whatever the fast encoder writes, JSONDecoder must read back.
@Suite struct PurchaseJSONTests {
    static let samples = [
        #"{"item":"sku-1","user":"alice","request_id":"r1"}"#,
        #" { "item" : "sku-1" , "user" : "alice" } "#,
        #"{"item":"a","user":"b","crash_after":"after-stock","crash_mode":"exit"}"#,
        #"{"item":"sku","user":"al\"ice"}"#,
        #"{"item":"sku","user":"alice","extra":1}"#,
        #"{"item":"sku","user":"alice","item":"other"}"#,
        #"{"item":"sku"}"#,
        #"{}"#,
        #"{"item":"sku","user":null}"#,
        #"{"item":"sku","user":"alice",}"#,
        #"{"item":"sku","user":"ålice"}"#,
        #"["item","user"]"#,
        #"{"item":"sku","user":"alice"} x"#,
    ]

    @Test func fastDecoderNeverDisagreesWithJSONDecoder() throws {
        var rng = SplitMix64(seed: 20261128)
        var accepted = 0
        var inputs = Self.samples.map { Array($0.utf8) }
        // Mutations of the samples: flipped, dropped and duplicated bytes.
        for _ in 0..<20_000 {
            var b = inputs[Int(rng.next() % UInt64(Self.samples.count))]
            for _ in 0...(rng.next() % 3) where !b.isEmpty {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.remove(at: at)
                default: b.insert(b[at], at: at)
                }
            }
            inputs.append(b)
        }
        for bytes in inputs {
            guard let fast = PurchaseJSON.decodeBuy(bytes) else { continue }
            accepted += 1
            let slow = try JSONDecoder().decode(API.Buy.self, from: Data(bytes))
            #expect(fast.item == slow.item && fast.user == slow.user && fast.requestID == slow.requestID
                    && fast.crashAfter == slow.crashAfter && fast.crashMode == slow.crashMode,
                    "\(String(decoding: bytes, as: UTF8.self))")
        }
        // The common shapes must take the fast path, or it is not a fast path.
        #expect(PurchaseJSON.decodeBuy(Array(Self.samples[0].utf8)) != nil)
        #expect(PurchaseJSON.decodeBuy(Array(Self.samples[1].utf8)) != nil)
        #expect(accepted > 3)
    }

    @Test func fastEncodingReadsBackThroughJSONDecoder() throws {
        let order = API.Order(orderID: "ord-n-00ff", gid: "n-00ff", item: "sku\"1", round: 3, user: "a\\b\n", requestID: "r1",
                              createdMs: 1_764_300_000_123, replayed: true)
        #expect(try JSONDecoder().decode(API.Order.self, from: Data(PurchaseJSON.encode(order))) == order)
        var plain = order
        plain.replayed = nil
        #expect(try JSONDecoder().decode(API.Order.self, from: Data(PurchaseJSON.encode(plain))) == plain)
        let error = API.ErrorBody(error: "sold_out", message: "sku is sold out \u{1}", gid: "n-1", field: "x", opensAt: "2026-12-05T20:00:00Z")
        #expect(try JSONDecoder().decode(API.ErrorBody.self, from: Data(PurchaseJSON.encode(error))) == error)
        let bare = API.ErrorBody(error: "e", message: "m")
        #expect(try JSONDecoder().decode(API.ErrorBody.self, from: Data(PurchaseJSON.encode(bare))) == bare)
    }

    /// The arithmetic RFC 3339 writer against Foundation's ISO 8601 style: the same date and
    /// time of day across leap years, century edges and before 1970, and the milliseconds
    /// exact (Foundation's own writer truncates through a Double: 0.999 s comes out .998).
    @Test func saleTimesAreWrittenAsFoundationWritesThem() throws {
        var rng = SplitMix64(seed: 7)
        var samples: [Int64] = [0, 1, 999, 1000, 86_399_999, 951_782_400_000, 4_107_542_400_000, 1_796_432_400_000, -1, -86_400_000]
        for _ in 0..<20_000 { samples.append(Int64(rng.next() % 8_000_000_000_000) - 1_000_000_000_000) }
        for ms in samples {
            let (s, frac) = ms.quotientAndRemainder(dividingBy: 1000)
            let second = frac < 0 ? s - 1 : s
            let whole = Date(timeIntervalSince1970: Double(second)).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
            let millis = (frac + 1000) % 1000
            let want = millis == 0 ? whole : String(whole.dropLast()) + "." + String(String(millis + 1000).dropFirst()) + "Z"
            #expect(SaleTime.format(ms) == want, "\(ms)")
            if SaleTime.format(ms) != want { return }
        }
    }

    /// With an offset, the local date and time and "+HH:MM" (RFC 3339's colon) as Foundation
    /// writes them in that zone.
    @Test func timesWithAnOffsetAreWrittenAsFoundationWritesThem() throws {
        var rng = SplitMix64(seed: 11)
        for offset in [9 * 3600, -5 * 3600 - 1800, 5 * 3600 + 2700, -12 * 3600, 14 * 3600] {
            let zone = try #require(TimeZone(secondsFromGMT: offset))
            for _ in 0..<2000 {
                let seconds = Int64(rng.next() % 4_000_000_000) - 500_000_000
                let want = Date(timeIntervalSince1970: Double(seconds))
                    .formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, includingFractionalSeconds: false, timeZone: zone))
                #expect(RFC3339.format(seconds * 1000, offsetSeconds: offset) == want, "\(seconds) at \(offset)")
            }
        }
        #expect(RFC3339.format(1_796_432_400_123, offsetSeconds: 9 * 3600) == "2026-12-05T10:00:00.123+09:00")
    }
}
