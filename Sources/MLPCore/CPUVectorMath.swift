/// `SIMD8` loads and stores at unaligned pointers, lane gathers and scatters, and a vectorised `exp`, shared by
/// the CPU backend's vectorised loops.
extension CPUBackend {
    @inline(__always) static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load(UnsafePointer(pointer)) }

    @inline(__always) static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// The first `lanes` values at `pointer` (a whole vector when `lanes` ≥ 8, none when it is ≤ 0), zeros in the
    /// other lanes.
    @inline(always) static func load(_ pointer: UnsafePointer<Float>, lanes: Int) -> SIMD8<Float> {
        if lanes >= 8 { return load(pointer) }
        var value = SIMD8<Float>()
        var lane = 0
        while lane < lanes {
            value[lane] = pointer[lane]
            lane += 1
        }
        return value
    }

    @inline(always) static func load(_ pointer: UnsafeMutablePointer<Float>, lanes: Int) -> SIMD8<Float> {
        load(UnsafePointer(pointer), lanes: lanes)
    }

    /// Stores lanes `0..<lanes` (1...8) of `value` at `pointer`, nothing past them.
    @inline(always) static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>, lanes: Int) {
        if lanes == 8 { return store(value, pointer) }
        for lane in 0..<lanes { pointer[lane] = value[lane] }
    }

    /// `base[i·stride]` in lane i: column j of eight consecutive rows, one row per lane.
    @inline(__always)
    static func gatherLanes(_ base: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
        SIMD8(base[0], base[stride], base[2 * stride], base[3 * stride], base[4 * stride], base[5 * stride], base[6 * stride], base[7 * stride])
    }

    /// Lane i to `base[i·stride]`.
    @inline(__always)
    static func scatterLanes(_ value: SIMD8<Float>, _ base: UnsafeMutablePointer<Float>, stride: Int) {
        for lane in 0..<8 { base[lane * stride] = value[lane] }
    }

    /// `exp` of every lane without a library call (Cephes' single-precision method: `2^n · e^r`,
    /// `n = round(x·log₂e)`, `r = x − n·ln 2` in two parts, a degree-5 polynomial for `e^r`), within 2 ulp of the C
    /// library's `expf` (tested over [−103, 88.7], subnormal results included); 0 below −103.9, +∞ above 88.72, NaN
    /// for NaN. Lane by lane the same arithmetic at either width (`SIMD8` or `SIMD16`), so the same results.
    @inline(always)
    static func expVectorised<V: FloatLanes>(_ x: V) -> V {
        let low = V(repeating: -103.9), high = V(repeating: 88.72)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // n = round(x·log₂e) by adding 1.5·2^23: the sum's low mantissa bits are the rounded integer.
        let magic = V(repeating: 12_582_912)
        let biased = clamped * V(repeating: 1.442_695_04) + magic
        let n = biased - magic
        let r = clamped - n * V(repeating: 0.693_359_375) - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_59e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        let er = p * (r * r) + r + V(repeating: 1)
        // 2^n as two exact factors (n is in [−150, 128]; each half has a normal exponent).
        let whole = unsafeBitCast(biased, to: V.Bits.self) &- V.Bits(repeating: 0x4B40_0000)
        let half = whole &>> V.Bits(repeating: 1)
        @inline(__always) func power(_ e: V.Bits) -> V {
            unsafeBitCast((e &+ V.Bits(repeating: 127)) &<< V.Bits(repeating: 23), to: V.self)
        }
        var result = er * power(half) * power(whole &- half)
        result.replace(with: V(), where: x .< low)
        result.replace(with: V(repeating: .infinity), where: x .> high)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// `exp` without a library call: ``expVectorised(_:)`` on one value (for the rows outside the blocks of eight).
    @inline(__always)
    static func expInline(_ x: Float) -> Float { expVectorised(SIMD8<Float>(repeating: x))[0] }

    /// A whole vector of `V` at an unaligned pointer.
    @inline(__always) static func loadLanes<V: FloatLanes>(_ pointer: UnsafePointer<Float>, as _: V.Type = V.self) -> V {
        UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
    }

    @inline(__always) static func loadLanes<V: FloatLanes>(_ pointer: UnsafeMutablePointer<Float>, as _: V.Type = V.self) -> V {
        UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
    }

    /// Stores a whole vector of `V` at an unaligned pointer.
    @inline(__always) static func storeLanes<V: FloatLanes>(_ value: V, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: V.self)
    }
}

/// The `Float` vectors the element-wise loops are written for, `SIMD8` (one ymm register) and `SIMD16` (one zmm
/// register), with the `Int32` vector of the same width that ``CPUBackend/expVectorised(_:)`` reinterprets them as.
/// The loops are generic over it and specialised at each call (`@inline(always)`), so an AVX-512 build runs
/// `SIMD16` where a row or range is at least 16 long and `SIMD8` below.
///
/// The operators are requirements so that generic code calls the standard library's vector instructions for the
/// concrete type (its `SIMD` extension operators, which generic code would otherwise resolve to, work lane by lane
/// and measured 7× slower). Generic code therefore uses only these, vector with vector: constants as
/// `V(repeating:)`, `a = a + b` rather than `+=`.
protocol FloatLanes: SIMD where Scalar == Float {
    /// The `Int32` vector with as many lanes.
    associatedtype Bits: IntLanes
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func / (a: Self, b: Self) -> Self
    static prefix func - (a: Self) -> Self
    static func .< (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .> (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .== (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .!= (a: Self, b: Self) -> SIMDMask<MaskStorage>
    static func .>= (a: Self, b: Self) -> SIMDMask<MaskStorage>
}

/// The `Int32` vectors of ``FloatLanes``, with the wrapping operators ``CPUBackend/expVectorised(_:)`` uses as
/// requirements (see ``FloatLanes``).
protocol IntLanes: SIMD where Scalar == Int32 {
    static func &+ (a: Self, b: Self) -> Self
    static func &- (a: Self, b: Self) -> Self
    static func &>> (a: Self, b: Self) -> Self
    static func &<< (a: Self, b: Self) -> Self
}

extension SIMD8: FloatLanes where Scalar == Float {
    typealias Bits = SIMD8<Int32>
}

extension SIMD16: FloatLanes where Scalar == Float {
    typealias Bits = SIMD16<Int32>
}

extension SIMD8: IntLanes where Scalar == Int32 {}

extension SIMD16: IntLanes where Scalar == Int32 {}

#if MLPKIT_AVX512
/// The vector of the Adam/AMSGrad, RMSprop, Adagrad and Nadam loops: 16 lanes (one zmm register) on an AVX-512
/// build, where `mlp-bench ops --workload mnist --threads 1` measured them 1.2–1.7× faster than 8 (Performance.md;
/// SGD, memory-bound, did not gain and keeps `SIMD8`); 8 lanes (one ymm register) otherwise.
typealias ElementVector = SIMD16<Float>
#else
/// The vector of the Adam/AMSGrad, RMSprop, Adagrad and Nadam loops: 8 lanes (one ymm register; 16 on an AVX-512 build).
typealias ElementVector = SIMD8<Float>
#endif

/// `ElementVector` loads and stores at unaligned pointers, whole or partial.
extension CPUBackend {
    /// `ElementVector`'s lane count: 16 on an AVX-512 build, else 8.
    @inline(__always) static var elementWidth: Int { ElementVector.scalarCount }

    @inline(__always) static func loadVector(_ pointer: UnsafePointer<Float>) -> ElementVector {
        UnsafeRawPointer(pointer).loadUnaligned(as: ElementVector.self)
    }

    @inline(__always) static func loadVector(_ pointer: UnsafeMutablePointer<Float>) -> ElementVector {
        loadVector(UnsafePointer(pointer))
    }

    @inline(__always) static func storeVector(_ value: ElementVector, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: ElementVector.self)
    }

    /// The first `lanes` values at `pointer` (a whole vector when `lanes` ≥ `elementWidth`, none when it is ≤ 0),
    /// zeros in the other lanes.
    @inline(always) static func loadVector(_ pointer: UnsafePointer<Float>, lanes: Int) -> ElementVector {
        if lanes >= elementWidth { return loadVector(pointer) }
        var value = ElementVector()
        var lane = 0
        while lane < lanes {
            value[lane] = pointer[lane]
            lane += 1
        }
        return value
    }

    @inline(always) static func loadVector(_ pointer: UnsafeMutablePointer<Float>, lanes: Int) -> ElementVector {
        loadVector(UnsafePointer(pointer), lanes: lanes)
    }

    /// Stores lanes `0..<lanes` (1...`elementWidth`) of `value` at `pointer`, nothing past them.
    @inline(always) static func storeVector(_ value: ElementVector, _ pointer: UnsafeMutablePointer<Float>, lanes: Int) {
        if lanes == elementWidth { return storeVector(value, pointer) }
        for lane in 0..<lanes { pointer[lane] = value[lane] }
    }
}
