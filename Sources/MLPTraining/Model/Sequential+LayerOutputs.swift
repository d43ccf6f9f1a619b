import MLPCore

extension Sequential {
    /// Every layer's output for `x` (inference mode), in layer order.
    public func layerOutputs(_ x: Tensor) throws -> [Tensor] {
        try checkFeatures(x, role: "the activation sample")
        let input = backend.makeBuffer(x.scalars)
        var current: DeviceBuffer = input
        var outputs: [Tensor] = []
        for layer in layers {
            current = layer.forward(current, rows: x.rowCount, context: .inference)
            outputs.append(Tensor(shape: [x.rowCount, layer.outputUnits], scalars: backend.download(current, offset: 0, count: x.rowCount * layer.outputUnits)))
        }
        try backend.checkError()
        return outputs
    }
}
