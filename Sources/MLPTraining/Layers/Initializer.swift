import MLPCore

/// How a layer variable gets its first values (Keras' initializers, with Keras' defaults and formulas).
///
/// For a Dense kernel `fanIn` is the input width and `fanOut` the number of units. The variance-scaling
/// normal initializers draw from a normal truncated at 2σ with σ divided by 0.87962566103423978, so the
/// result has the intended standard deviation, exactly as Keras does.
public enum Initializer: Equatable, Sendable {
    /// `U(±√(6/(fanIn+fanOut)))` — the Dense kernel default.
    case glorotUniform
    /// Truncated normal, `σ = √(2/(fanIn+fanOut))`.
    case glorotNormal
    /// Truncated normal, `σ = √(2/fanIn)` — for ReLU networks.
    case heNormal
    /// `U(±√(6/fanIn))`.
    case heUniform
    /// Truncated normal, `σ = √(1/fanIn)` — for SELU networks.
    case lecunNormal
    /// `U(±√(3/fanIn))`.
    case lecunUniform
    /// All zeros — the bias default.
    case zeros
    case ones
    case constant(Float)
    /// `N(mean, stddev)`; Keras default stddev 0.05.
    case randomNormal(mean: Float = 0, stddev: Float = 0.05)
    /// `U(minval, maxval)`; Keras default ±0.05.
    case randomUniform(minval: Float = -0.05, maxval: Float = 0.05)
    /// Normal truncated at 2σ; Keras default stddev 0.05.
    case truncatedNormal(mean: Float = 0, stddev: Float = 0.05)

    /// The Keras class name, as written in model configs.
    public var kerasClassName: String {
        switch self {
        case .glorotUniform: return "GlorotUniform"
        case .glorotNormal: return "GlorotNormal"
        case .heNormal: return "HeNormal"
        case .heUniform: return "HeUniform"
        case .lecunNormal: return "LecunNormal"
        case .lecunUniform: return "LecunUniform"
        case .zeros: return "Zeros"
        case .ones: return "Ones"
        case .constant: return "Constant"
        case .randomNormal: return "RandomNormal"
        case .randomUniform: return "RandomUniform"
        case .truncatedNormal: return "TruncatedNormal"
        }
    }

    static let names: [String: Initializer] = [
        "glorot_uniform": .glorotUniform, "glorot_normal": .glorotNormal, "he_normal": .heNormal,
        "he_uniform": .heUniform, "lecun_normal": .lecunNormal, "lecun_uniform": .lecunUniform,
        "zeros": .zeros, "ones": .ones, "random_normal": .randomNormal(), "random_uniform": .randomUniform(),
        "truncated_normal": .truncatedNormal(),
    ]

    /// Looks up a Keras initializer name (`"he_normal"`, or the class name `"HeNormal"`).
    public init(keras name: String) throws {
        let snake = name.reduce(into: "") { out, ch in
            if ch.isUppercase && !out.isEmpty { out.append("_") }
            out.append(Character(ch.lowercased()))
        }
        guard let found = Initializer.names[name] ?? Initializer.names[snake] else {
            throw MLPError.unknownName(kind: "initializer", received: name, valid: Initializer.names.keys.sorted())
        }
        self = found
    }

    /// `count` values for a variable with the given fans, drawn from `random`.
    public func values(count: Int, fanIn: Int, fanOut: Int, random: inout PhiloxRandom) -> [Float] {
        let fanIn = Float(max(fanIn, 1)), fanOut = Float(max(fanOut, 1))
        func uniform(_ limit: Float) -> [Float] {
            (0..<count).map { _ in limit * (2 * random.nextUniform() - 1) }
        }
        func truncated(mean: Float, stddev: Float) -> [Float] {
            (0..<count).map { _ in
                var z: Float
                repeat { z = random.nextNormal() } while abs(z) > 2
                return mean + stddev * z
            }
        }
        let truncationCorrection: Float = 0.87962566103423978
        switch self {
        case .glorotUniform: return uniform((6 / (fanIn + fanOut)).squareRoot())
        case .glorotNormal: return truncated(mean: 0, stddev: (2 / (fanIn + fanOut)).squareRoot() / truncationCorrection)
        case .heNormal: return truncated(mean: 0, stddev: (2 / fanIn).squareRoot() / truncationCorrection)
        case .heUniform: return uniform((6 / fanIn).squareRoot())
        case .lecunNormal: return truncated(mean: 0, stddev: (1 / fanIn).squareRoot() / truncationCorrection)
        case .lecunUniform: return uniform((3 / fanIn).squareRoot())
        case .zeros: return [Float](repeating: 0, count: count)
        case .ones: return [Float](repeating: 1, count: count)
        case .constant(let value): return [Float](repeating: value, count: count)
        case let .randomNormal(mean, stddev): return (0..<count).map { _ in mean + stddev * random.nextNormal() }
        case let .randomUniform(low, high): return (0..<count).map { _ in low + (high - low) * random.nextUniform() }
        case let .truncatedNormal(mean, stddev): return truncated(mean: mean, stddev: stddev)
        }
    }
}
