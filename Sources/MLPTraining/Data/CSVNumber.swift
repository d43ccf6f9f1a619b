import Foundation

/// The number spellings a CSV cell may use: plain decimals only.
///
/// The grammar is `[+-]? (DIGITS ["." DIGITS?] | "." DIGITS) ([eE] [+-]? DIGITS)?` with ASCII digits: `3`, `-0.5`,
/// `+2`, `.5`, `5.`, `1e-3`, `2.5E+10`. Hexadecimal (`0x1F`, `0x1p3`), `inf`, `infinity`, `nan`, digit
/// separators, other scripts' digits and anything else are not numbers. The value is the nearest `Float`
/// (`strtof`); a spelling beyond the `Float` range reads as infinite, which readers reject.
public enum CSVNumber {
    /// Whether `count` bytes at `start` spell a decimal number.
    @inline(__always)
    static func isDecimal(_ start: UnsafePointer<UInt8>, count: Int) -> Bool {
        var index = 0
        @inline(__always) func digits() -> Int {
            let first = index
            while index < count, start[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            return index - first
        }
        if index < count, start[index] == UInt8(ascii: "-") || start[index] == UInt8(ascii: "+") { index += 1 }
        var mantissa = digits()
        if index < count, start[index] == UInt8(ascii: ".") {
            index += 1
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if index < count, start[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < count, start[index] == UInt8(ascii: "-") || start[index] == UInt8(ascii: "+") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == count
    }

    /// The value of the decimal spelled by `count` bytes at `start`, or nil when they are not one. The byte after
    /// them must not continue a number (a comma, a line end, a space, a 0).
    @inline(__always)
    static func value(_ start: UnsafePointer<UInt8>, count: Int) -> Float? {
        guard isDecimal(start, count: count) else { return nil }
        let text = UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self)
        var stop: UnsafeMutablePointer<CChar>?
        let value = strtof(text, &stop)
        guard let stop, UnsafePointer(stop) == text + count else { return nil }
        return value
    }

    /// The value of a decimal spelled by `text` (leading and trailing spaces allowed), or nil; infinite when
    /// the spelling is beyond the `Float` range.
    public static func value(_ text: some StringProtocol) -> Float? {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes.removeLast() }
        let skip = bytes.prefix { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { value($0.baseAddress! + skip, count: $0.count - 1 - skip) }
    }

    /// A finite decimal from `text`, or nil (for flags such as `--missing fill=VALUE`).
    public static func finiteValue(_ text: some StringProtocol) -> Float? {
        value(text).flatMap { $0.isFinite ? $0 : nil }
    }

    /// Why `field`, which is neither a decimal nor a missing-value marker, cannot be read as a number.
    static func problem(with field: String) -> String {
        let lowered = field.lowercased()
        let unsigned = lowered.hasPrefix("-") || lowered.hasPrefix("+") ? String(lowered.dropFirst()) : lowered
        if unsigned == "inf" || unsigned == "infinity" { return "'\(field)' is not a finite number" }
        if unsigned.hasPrefix("0x") { return "'\(field)' is not a decimal number (hexadecimal is not read)" }
        if unsigned == "nan" { return "'\(field)' is not a number" }
        if value(field) != nil { return "'\(field)' is not a finite number (beyond the 32-bit float range, ±3.4e38)" }
        return "'\(field)' is not a number"
    }
}
