/// k-means on RGB points with k-means++ seeding from a fixed seed, so the same pixels always
/// give the same colours. Points are 3 Float channels in 0–255, stored flat (r, g, b, r, …).
public enum KMeans {
    public struct Cluster: Sendable, Equatable {
        public var centre: Colour
        /// The fraction of points in this cluster (the clusters' shares add up to 1).
        public var share: Double
    }

    /// Up to `k` clusters (fewer when there are fewer distinct points), largest share first.
    public static func clusters(of points: [Float], k: Int, seed: UInt64 = 0x5EED, iterations: Int = 20) -> [Cluster] {
        let n = points.count / 3
        guard n > 0, k > 0 else { return [] }
        var random = SplitMix(state: seed)
        func distance(_ i: Int, _ c: SIMD3<Float>) -> Float {
            let d = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]) - c
            return (d * d).sum()
        }
        func point(_ i: Int) -> SIMD3<Float> { SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]) }

        // k-means++ (Arthur and Vassilvitskii, 2007): each next centre drawn with probability
        // proportional to the squared distance to the nearest centre chosen so far.
        var centres = [point(Int(random.next() % UInt64(n)))]
        var nearest = (0..<n).map { distance($0, centres[0]) }
        while centres.count < k {
            let total = nearest.reduce(0, +)
            guard total > 0 else { break } // every point sits on a centre: fewer distinct colours than k
            var target = Float(Double(random.next() >> 11) / Double(1 << 53)) * total
            var chosen = n - 1
            for i in 0..<n {
                target -= nearest[i]
                if target <= 0 { chosen = i; break }
            }
            centres.append(point(chosen))
            for i in 0..<n { nearest[i] = min(nearest[i], distance(i, centres[centres.count - 1])) }
        }

        // Lloyd iterations until no point changes cluster.
        var assignment = [Int](repeating: -1, count: n)
        for _ in 0..<iterations {
            var changed = false
            var sums = [SIMD3<Double>](repeating: .zero, count: centres.count)
            var counts = [Int](repeating: 0, count: centres.count)
            for i in 0..<n {
                var best = 0, bestDistance = Float.infinity
                for (c, centre) in centres.enumerated() {
                    let d = distance(i, centre)
                    if d < bestDistance { bestDistance = d; best = c }
                }
                if assignment[i] != best { assignment[i] = best; changed = true }
                let p = point(i)
                sums[best] += SIMD3(Double(p.x), Double(p.y), Double(p.z))
                counts[best] += 1
            }
            for c in centres.indices where counts[c] > 0 {
                let mean = sums[c] / Double(counts[c])
                centres[c] = SIMD3(Float(mean.x), Float(mean.y), Float(mean.z))
            }
            if !changed { break }
        }
        var counts = [Int](repeating: 0, count: centres.count)
        for a in assignment { counts[a] += 1 }
        return centres.indices.filter { counts[$0] > 0 }.map { c in
            Cluster(centre: Colour(r: Double(centres[c].x), g: Double(centres[c].y), b: Double(centres[c].z)),
                    share: Double(counts[c]) / Double(n))
        }.sorted { $0.share > $1.share }
    }
}

/// SplitMix64: a small, seedable generator (the standard library's is not seedable).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
