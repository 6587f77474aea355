/// A scalable Bloom filter of 64-bit purchase digests: "certainly never seen" or "maybe seen".
///
/// The sold-out fast path may answer a purchase only if its gid has no journal row (a retry of
/// a purchase that got an order must get that order back, not "sold out"). Keeping every gid
/// would cost memory in proportion to the sale; this costs about 1.5 bytes per digest at a 1%
/// false-positive rate, and a false positive only sends a purchase down the normal path.
///
/// It grows by layers, each twice the size of the one before, when the newest is full; a
/// lookup asks every layer. The digest is already a uniform 64-bit hash (FNV-1a of the gid's
/// parts), so its two halves drive the probes (double hashing) without hashing again.
public struct DigestFilter: Sendable {
    private struct Layer: Sendable {
        var bits: [UInt64]
        let capacity: Int
        var count = 0
        var mask: UInt64 { UInt64(bits.count * 64 - 1) }

        init(capacity: Int) {
            self.capacity = capacity
            // ~9.6 bits per digest for 1% with 7 probes; rounded up to a power of two.
            var words = 1
            while words * 64 < capacity * 10 { words *= 2 }
            bits = Array(repeating: 0, count: words)
        }
    }

    static let probes: UInt64 = 7
    private var layers: [Layer]
    public private(set) var count = 0

    public init(initialCapacity: Int = 1024) {
        layers = [Layer(capacity: max(64, initialCapacity))]
    }

    public mutating func insert(_ digest: UInt64) {
        if contains(digest) { return }
        if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
            layers.append(Layer(capacity: layers[layers.count - 1].capacity * 2))
        }
        let last = layers.count - 1
        let (h1, h2) = Self.halves(digest)
        for i in 0..<Self.probes {
            let bit = (h1 &+ i &* h2) & layers[last].mask
            layers[last].bits[Int(bit >> 6)] |= 1 << (bit & 63)
        }
        layers[last].count += 1
        count += 1
    }

    public func contains(_ digest: UInt64) -> Bool {
        let (h1, h2) = Self.halves(digest)
        layerLoop: for layer in layers {
            for i in 0..<Self.probes {
                let bit = (h1 &+ i &* h2) & layer.mask
                if layer.bits[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { continue layerLoop }
            }
            return true
        }
        return false
    }

    /// Bytes of bit arrays held.
    public var bytes: Int { layers.reduce(0) { $0 + $1.bits.count * 8 } }

    private static func halves(_ d: UInt64) -> (UInt64, UInt64) {
        // Mix once more so that digests differing only in high bits spread over low ones too;
        // an odd second step keeps the probes distinct.
        var x = d ^ (d >> 33)
        x = x &* 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        return (x, (d >> 32 | d << 32) | 1)
    }
}
