import MLPCore
