import Kernels

/// The shape of a CartoonGAN-style generator, recorded in every model file so one engine runs
/// both the published models (instance norm, plain weights) and group-norm + weight-norm
/// variants.
public struct GeneratorArchitecture: Sendable, Equatable, Codable {
    /// Channels after the first convolution (64 in the published models); the encoder doubles
    /// them twice.
    public var baseChannels: Int
    /// Residual blocks at the bottleneck (8 in the published models).
    public var residualBlocks: Int
    /// Groups in every normalisation layer; `nil` means instance norm (one channel per group).
    public var normGroups: Int?
    /// Whether convolution weights are stored as `weight_g` + `weight_v` (weight norm).
    public var weightNorm: Bool
    /// ε, and whether it is added to the standard deviation (CartoonGAN: std + 1e-9) or to the
    /// variance (PyTorch GroupNorm: sqrt(var + 1e-5)).
    public var epsilon: Double
    public var epsilonAddedToVariance: Bool

    public init(baseChannels: Int = 64, residualBlocks: Int = 8, normGroups: Int? = nil,
                weightNorm: Bool = false, epsilon: Double = 1e-9, epsilonAddedToVariance: Bool = false) {
        self.baseChannels = baseChannels
        self.residualBlocks = residualBlocks
        self.normGroups = normGroups
        self.weightNorm = weightNorm
        self.epsilon = epsilon
        self.epsilonAddedToVariance = epsilonAddedToVariance
    }

    /// The published CartoonGAN generator (Chen et al., CVPR 2018).
    public static let cartoonGAN = GeneratorArchitecture()

    func validate() throws(ModelError) {
        guard baseChannels >= 1, residualBlocks >= 0, residualBlocks <= 90 else {
            throw .invalidArchitecture("base channels \(baseChannels), residual blocks \(residualBlocks)")
        }
        if let g = normGroups {
            guard g >= 1, baseChannels % g == 0 else {
                throw .invalidArchitecture("\(baseChannels) channels do not split into \(g) groups")
            }
        }
        guard epsilon >= 0, epsilon.isFinite else { throw .invalidArchitecture("epsilon \(epsilon)") }
    }

    func norm(channels: Int, gamma: [Float], beta: [Float]) -> GroupNorm {
        GroupNorm(channels: channels, groups: normGroups ?? channels, gamma: gamma, beta: beta,
                  epsilon: epsilonAddedToVariance ? .addedToVariance(epsilon) : .addedToStd(epsilon))
    }
}
