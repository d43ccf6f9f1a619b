@_exported import MLPCore
