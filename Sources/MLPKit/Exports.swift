// `import MLPKit` brings the whole public API: tensors and backends (MLPCore), layers, models and
// training (MLPTraining), and the device registry below.
@_exported import MLPCore
@_exported import MLPTraining
