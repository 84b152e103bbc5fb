/// k-means on RGB points with k-means++ seeding from a fixed seed, so the same pixels always
/// give the same colours. Points are 3 Float channels in 0–255, stored flat (r, g, b, r, …);
/// optional weights make a point count as that many (a movie's palette weighs colours by share).
public enum KMeans {
    public struct Cluster: Sendable, Equatable {
        public var centre: Colour
        /// The fraction of points (of weight) in this cluster; the shares add up to 1.
        public var share: Double

        public init(centre: Colour, share: Double) {
            self.centre = centre
            self.share = share
        }
    }

    /// Up to `k` clusters (fewer when there are fewer distinct points), largest share first.
    public static func clusters(of points: [Float], weights: [Float]? = nil, k: Int, seed: UInt64 = 0x5EED,
                                iterations: Int = 20) -> [Cluster] {
        let result = centres(of: points, weights: weights, k: k, seed: seed, iterations: iterations)
        let total = result.weights.reduce(0, +)
        guard total > 0 else { return [] }
        return result.centres.indices.filter { result.weights[$0] > 0 }.map { c in
            Cluster(centre: Colour(r: Double(result.centres[c].x), g: Double(result.centres[c].y), b: Double(result.centres[c].z)),
                    share: result.weights[c] / total)
        }.sorted { $0.share > $1.share }
    }

    /// The centres and the weight each gathered (unsorted; a centre may have gathered nothing).
    static func centres(of points: [Float], weights: [Float]?, k: Int, seed: UInt64,
                        iterations: Int) -> (centres: [SIMD3<Float>], weights: [Double]) {
        let n = points.count / 3
        precondition(weights == nil || weights!.count == n, "one weight per point")
        guard n > 0, k > 0 else { return ([], []) }
        let point: (Int) -> SIMD3<Float> = { SIMD3(points[3 * $0], points[3 * $0 + 1], points[3 * $0 + 2]) }
        let weight: (Int) -> Float = { weights?[$0] ?? 1 }
        var random = SplitMix(state: seed)

        // k-means++ (Arthur and Vassilvitskii, 2007): each next centre drawn with probability
        // proportional to (weight ×) the squared distance to the nearest centre chosen so far.
        var first = 0
        if weights == nil {
            first = Int(random.next() % UInt64(n))
        } else {
            var target = random.unit() * Double(weights!.reduce(0, +))
            for i in 0..<n { target -= Double(weight(i)); if target <= 0 { first = i; break } }
        }
        var centres = [point(first)]
        var nearest = (0..<n).map { i -> Float in let d = point(i) - centres[0]; return (d * d).sum() * weight(i) }
        while centres.count < k {
            let total = nearest.reduce(0, +)
            guard total > 0 else { break } // every point sits on a centre: fewer distinct colours than k
            var target = Float(random.unit()) * total
            var chosen = n - 1
            for i in 0..<n where nearest[i] > 0 {
                chosen = i
                target -= nearest[i]
                if target <= 0 { break }
            }
            let centre = point(chosen)
            centres.append(centre)
            for i in 0..<n {
                let d = point(i) - centre
                nearest[i] = min(nearest[i], (d * d).sum() * weight(i))
            }
        }

        // Lloyd iterations until no point changes cluster.
        var assignment = [Int](repeating: -1, count: n)
        var gathered = [Double](repeating: 0, count: centres.count)
        for _ in 0..<iterations {
            var changed = false
            var sums = [SIMD3<Double>](repeating: .zero, count: centres.count)
            gathered = [Double](repeating: 0, count: centres.count)
            for i in 0..<n {
                let p = point(i)
                var best = 0, bestDistance = Float.infinity
                for c in centres.indices {
                    let d = p - centres[c]
                    let distance = (d * d).sum()
                    if distance < bestDistance { bestDistance = distance; best = c }
                }
                if assignment[i] != best { assignment[i] = best; changed = true }
                let w = Double(weight(i))
                sums[best] += SIMD3(Double(p.x), Double(p.y), Double(p.z)) * w
                gathered[best] += w
            }
            for c in centres.indices where gathered[c] > 0 {
                let mean = sums[c] / gathered[c]
                centres[c] = SIMD3(Float(mean.x), Float(mean.y), Float(mean.z))
            }
            if !changed { break }
        }
        return (centres, gathered)
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

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
