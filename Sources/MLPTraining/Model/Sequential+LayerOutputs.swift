import MLPCore

extension Sequential {
    /// Every layer's output for `x` (inference mode), in layer order. `x` is in the units `predict` takes: the
    /// model's ``inputScaler``, when it has one, is applied first.
    public func layerOutputs(_ x: Tensor) throws -> [Tensor] {
        try checkFeatures(x, role: "the activation sample")
        let x = scaled(x)
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

    /// Runs `body` as a single process would, without collectives: inside a data-parallel `fit`, what one rank
    /// computes on its own (a callback on rank 0 evaluating held-out data), then restores the job.
    func locally<T>(_ body: () throws -> T) rethrows -> T {
        let job = distribution
        distribution = SingleProcess()
        defer { distribution = job }
        return try body()
    }
}
