import MLPCore

/// Data sets that ship inside MLPKit, so a model can be trained with nothing downloaded.
public enum Datasets {
    /// The UCI ML hand-written digits (scikit-learn's `load_digits`): 1797 samples of 8×8 pixels, each
    /// 0…16, and the digit 0–9. Features are scaled to [0, 1] (divided by 16); labels are class indices.
    public static func digits() -> (x: Tensor, y: Tensor) {
        var pixels = [Float]()
        var labels = [Float]()
        pixels.reserveCapacity(1797 * 64)
        let a = UInt8(ascii: "a"), zero = UInt8(ascii: "0")
        for line in digitsEncoded.utf8.split(separator: UInt8(ascii: "\n")) {
            labels.append(Float(line[line.startIndex] - zero))
            for byte in line.dropFirst() { pixels.append(Float(byte - a) / 16) }
        }
        return (Tensor(shape: [labels.count, 64], scalars: pixels), Tensor(shape: [labels.count, 1], scalars: labels))
    }

    /// A fixed, seeded split into training and test samples: the samples are permuted with `seed`, and
    /// the last `testFraction` become the test set.
    public static func trainTestSplit(x: Tensor, y: Tensor, testFraction: Double = 0.2, seed: UInt64 = 0)
        -> (train: (x: Tensor, y: Tensor), test: (x: Tensor, y: Tensor)) {
        var random = PhiloxRandom(seed: seed, stream: PhiloxStream.trainTestSplit)
        let order = random.permutation(x.rowCount)
        let testCount = Int((Double(x.rowCount) * testFraction).rounded())
        let trainIndices = order.prefix(x.rowCount - testCount)
        let testIndices = order.suffix(testCount)
        return ((x.gatheringRows(trainIndices), y.gatheringRows(trainIndices)),
                (x.gatheringRows(testIndices), y.gatheringRows(testIndices)))
    }

    /// Splits off a validation set: without a seed the **last** `validationFraction` of the samples (Keras'
    /// `validation_split`); with a seed the samples are permuted first; `stratify` keeps each class's share
    /// (classes from sparse labels or one-hot rows), taking the same fraction of every class.
    public static func split(x: Tensor, y: Tensor, validationFraction: Double, shuffleSeed: UInt64? = nil, stratify: Bool = false)
        throws -> (train: (x: Tensor, y: Tensor), validation: (x: Tensor, y: Tensor)) {
        guard validationFraction > 0 && validationFraction < 1 else {
            throw MLPError.invalidArgument("the validation fraction must be in (0, 1), got \(validationFraction)")
        }
        var order = Array(0..<x.rowCount)
        if let shuffleSeed {
            var random = PhiloxRandom(seed: shuffleSeed, stream: PhiloxStream.validationSplit)
            order = random.permutation(x.rowCount)
        }
        var trainIndices: [Int] = [], validationIndices: [Int] = []
        if stratify {
            let classes = Sequential.classIndices(y)
            var byClass: [Int: [Int]] = [:]
            for index in order { byClass[classes[index], default: []].append(index) }
            for key in byClass.keys.sorted() {
                let members = byClass[key]!
                let cut = Int((Double(members.count) * (1 - validationFraction)).rounded(.down))
                trainIndices += members[..<cut]
                validationIndices += members[cut...]
            }
            var position = [Int](repeating: 0, count: x.rowCount)
            for (place, index) in order.enumerated() { position[index] = place }
            trainIndices.sort { position[$0] < position[$1] }
            validationIndices.sort { position[$0] < position[$1] }
        } else {
            let cut = Int((Double(x.rowCount) * (1 - validationFraction)).rounded(.down))
            trainIndices = Array(order[..<cut])
            validationIndices = Array(order[cut...])
        }
        guard !trainIndices.isEmpty && !validationIndices.isEmpty else {
            throw MLPError.invalidArgument("a validation fraction of \(validationFraction) of \(x.rowCount) samples leaves an empty side")
        }
        return ((x.gatheringRows(trainIndices), y.gatheringRows(trainIndices)),
                (x.gatheringRows(validationIndices), y.gatheringRows(validationIndices)))
    }
}
