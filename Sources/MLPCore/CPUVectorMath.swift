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

    /// `exp` of eight lanes without a library call (Cephes' single-precision method: `2^n · e^r`,
    /// `n = round(x·log₂e)`, `r = x − n·ln 2` in two parts, a degree-5 polynomial for `e^r`), within 2 ulp of the C
    /// library's `expf` (tested over [−103, 88.7], subnormal results included); 0 below −103.9, +∞ above 88.72, NaN
    /// for NaN.
    @inline(always)
    static func expVectorised(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -103.9), high = SIMD8<Float>(repeating: 88.72)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // n = round(x·log₂e) by adding 1.5·2^23: the sum's low mantissa bits are the rounded integer.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let biased = clamped * 1.442_695_04 + magic
        let n = biased - magic
        let r = clamped - n * 0.693_359_375 - n * -2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * (r * r) + r + 1
        // 2^n as two exact factors (n is in [−150, 128]; each half has a normal exponent).
        let whole = unsafeBitCast(biased, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let half = whole &>> 1
        @inline(__always) func power(_ e: SIMD8<Int32>) -> SIMD8<Float> { unsafeBitCast((e &+ 127) &<< 23, to: SIMD8<Float>.self) }
        var result = er * power(half) * power(whole &- half)
        result.replace(with: SIMD8(), where: x .< low)
        result.replace(with: SIMD8(repeating: .infinity), where: x .> high)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// `exp` without a library call: ``expVectorised(_:)`` on one value (for the rows outside the blocks of eight).
    @inline(__always)
    static func expInline(_ x: Float) -> Float { expVectorised(SIMD8(repeating: x))[0] }
}

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
