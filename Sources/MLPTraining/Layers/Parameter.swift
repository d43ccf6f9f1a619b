import MLPCore

/// A layer variable living on the backend: its value, and (if trainable) its gradient buffer.
public final class Parameter {
    /// The Keras variable name: `kernel`, `bias`, `gamma`, `moving_mean`, ….
    public let name: String
    /// The Keras shape: a Dense kernel is `[inputUnits, units]`.
    public let shape: [Int]
    /// Trainable parameters get gradients and optimizer updates.
    public let isTrainable: Bool
    /// The value, `count` floats row-major.
    public let value: DeviceBuffer
    /// `∂loss/∂value` after a backward pass (trainable parameters only).
    public let gradient: DeviceBuffer?

    /// The number of values (the product of `shape`), stored: the optimizers read it for every update.
    public let count: Int

    init(name: String, shape: [Int], isTrainable: Bool, initialValues: [Float], backend: any Backend) {
        precondition(initialValues.count == shape.reduce(1, *), "parameter \(name): values do not match shape \(shape)")
        self.name = name
        self.shape = shape
        self.isTrainable = isTrainable
        count = initialValues.count
        value = backend.makeBuffer(initialValues)
        gradient = isTrainable ? backend.makeBuffer(count: initialValues.count) : nil
    }
}
