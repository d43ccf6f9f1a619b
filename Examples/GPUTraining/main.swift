// The same model and code on an OpenCL device: weights and optimizer state stay on the device for the whole run,
// and with the same seed the losses match the CPU backend's. Without a GPU, `.gpu` takes the best other OpenCL
// device (PoCL on the CPU) with a notice; without any OpenCL device the program says so and exits 1.
import Foundation
import MLPKit

let digits = Datasets.digits()

func train(on device: Device) throws -> [Float] {
    let model = try Sequential(inputDim: 64, [Dense(64, activation: .relu), Dense(10, activation: .softmax)],
                               seed: 11, device: device)
    try model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy(fromLogits: false), metrics: [.accuracy])
    let history = try model.fit(x: digits.x, y: digits.y, epochs: 3, verbose: 0, shuffle: false)
    return history.history["loss"]!
}

do {
    for line in Device.inventory() { print(line) }
    let onDevice = try train(on: .gpu)
    let onCPU = try train(on: .cpu)
    print("losses on the OpenCL device:", onDevice)
    print("losses on the CPU backend:  ", onCPU)
    let worst = zip(onDevice, onCPU).map { abs($0 - $1) / max(1, abs($1)) }.max()!
    print("largest relative difference: \(worst)")
    precondition(worst < 1e-4, "the OpenCL device and the CPU backend disagree")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
