// `import MLPKit` brings the whole public API: tensors and backends (MLPCore), layers, models and
// training (MLPTraining), model files (MLPModelFiles), TensorBoard logs (MLPTensorBoard), and the device
// registry below.
@_exported import MLPCore
@_exported import MLPModelFiles
@_exported import MLPTensorBoard
@_exported import MLPTraining
