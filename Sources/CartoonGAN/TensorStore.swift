/// Named float32 tensors, taken one by one while a model is built. Loading is strict: a missing
/// tensor, a wrong shape, or a tensor nobody took is an error that names it.
public struct TensorStore: Sendable {
    public struct Entry: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count)
            self.shape = shape
            self.values = values
        }
    }

    public private(set) var entries: [String: Entry]
    private var taken: Set<String> = []

    public init(_ entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    public subscript(name: String) -> Entry? {
        get { entries[name] }
        set { entries[name] = newValue }
    }

    /// The values of `name`, which must have exactly `shape`.
    public mutating func take(_ name: String, shape: [Int]) throws(ModelError) -> [Float] {
        guard let entry = entries[name] else { throw .missingTensor(name) }
        guard entry.shape == shape else { throw .wrongShape(name, expected: shape, found: entry.shape) }
        taken.insert(name)
        return entry.values
    }

    /// A convolution weight: `name.weight` as stored, or — for weight-normalised layers —
    /// folded from `name.weight_g` and `name.weight_v` as w = g · v / ‖v‖, the norm taken over all
    /// dimensions but the first (PyTorch's `weight_norm(dim=0)`, also for transposed convs).
    public mutating func takeWeight(_ name: String, shape: [Int], weightNorm: Bool) throws(ModelError) -> [Float] {
        guard weightNorm else { return try take("\(name).weight", shape: shape) }
        let v = try take("\(name).weight_v", shape: shape)
        let gName = "\(name).weight_g"
        guard let g = entries[gName] else { throw .missingTensor(gName) }
        // PyTorch stores g as [d0, 1, 1, 1]; accept a flat [d0] as well.
        let gShape = g.shape.filter { $0 != 1 }
        guard gShape == [shape[0]] || (shape[0] == 1 && gShape.isEmpty) else {
            throw .wrongShape(gName, expected: [shape[0], 1, 1, 1], found: g.shape)
        }
        taken.insert(gName)
        let inner = v.count / shape[0]
        var w = v
        for o in 0..<shape[0] {
            var sum = 0.0
            for i in 0..<inner { sum += Double(v[o * inner + i]) * Double(v[o * inner + i]) }
            let factor = Double(g.values[o]) / sum.squareRoot()
            for i in 0..<inner { w[o * inner + i] = Float(Double(v[o * inner + i]) * factor) }
        }
        return w
    }

    /// Fails if any tensor was never taken.
    public func checkAllTaken() throws(ModelError) {
        let unused = Set(entries.keys).subtracting(taken)
        if !unused.isEmpty { throw .unusedTensors(Array(unused)) }
    }
}
