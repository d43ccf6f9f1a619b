import CZlibShim
import Foundation

/// A decoded PNG (8-bit RGB or RGBA, not interlaced: what Chromium's `--screenshot` writes), for the tests that
/// look at a rendered page. Pixels are RGBA, row by row.
struct PNGImage {
    let width: Int
    let height: Int
    /// RGBA bytes, `width · height · 4` of them.
    let pixels: [UInt8]

    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// Decodes `data`: the chunks, the zlib stream of the IDAT chunks (zlib's `uncompress`), then the per-row filters.
    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8].elementsEqual([137, 80, 78, 71, 13, 10, 26, 10]) else {
            throw Unsupported(description: "not a PNG file (\(bytes.count) bytes)")
        }
        func word(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var offset = 8, width = 0, height = 0, channels = 0
        var compressed: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = word(offset), type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let body = offset + 8
            guard body + length + 4 <= bytes.count else { throw Unsupported(description: "a truncated \(type) chunk") }
            switch type {
            case "IHDR":
                width = word(body)
                height = word(body + 4)
                let depth = bytes[body + 8], colour = bytes[body + 9], interlace = bytes[body + 12]
                guard depth == 8, colour == 2 || colour == 6, interlace == 0 else {
                    throw Unsupported(description: "bit depth \(depth), colour type \(colour), interlace \(interlace)")
                }
                channels = colour == 6 ? 4 : 3
            case "IDAT":
                compressed += bytes[body..<body + length]
            default:
                break
            }
            offset = body + length + 4
        }
        guard width > 0, height > 0, channels > 0 else { throw Unsupported(description: "no IHDR chunk") }
        let stride = width * channels
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { target in
            compressed.withUnsafeBufferPointer { source in
                uncompress(target.baseAddress, &rawLength, source.baseAddress, uLong(source.count))
            }
        }
        guard status == Z_OK, Int(rawLength) == raw.count else {
            throw Unsupported(description: "zlib status \(status), \(rawLength) of \(raw.count) bytes")
        }
        var rows = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)], source = y * (stride + 1) + 1, line = y * stride
            for x in 0..<stride {
                let value = raw[source + x]
                let left = x >= channels ? Int(rows[line + x - channels]) : 0
                let up = y > 0 ? Int(rows[line - stride + x]) : 0
                let upLeft = x >= channels && y > 0 ? Int(rows[line - stride + x - channels]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = left
                case 2: predicted = up
                case 3: predicted = (left + up) / 2
                case 4:
                    let p = left + up - upLeft, pa = abs(p - left), pb = abs(p - up), pc = abs(p - upLeft)
                    predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
                default: throw Unsupported(description: "row filter \(filter)")
                }
                rows[line + x] = UInt8(truncatingIfNeeded: Int(value) + predicted)
            }
        }
        self.width = width
        self.height = height
        if channels == 4 {
            pixels = rows
        } else {
            var rgba = [UInt8](repeating: 255, count: width * height * 4)
            for index in 0..<(width * height) {
                rgba[index * 4] = rows[index * 3]
                rgba[index * 4 + 1] = rows[index * 3 + 1]
                rgba[index * 4 + 2] = rows[index * 3 + 2]
            }
            pixels = rgba
        }
    }

    /// The pixel at (x, y) as one RGB number (alpha dropped).
    func rgb(_ x: Int, _ y: Int) -> UInt32 {
        let index = (y * width + x) * 4
        return UInt32(pixels[index]) << 16 | UInt32(pixels[index + 1]) << 8 | UInt32(pixels[index + 2])
    }

    /// The fraction of pixels that differ from `background`, and the number of distinct colours.
    func inkFraction(background: UInt32) -> (fraction: Double, colours: Int) {
        var ink = 0
        var colours = Set<UInt32>()
        for y in 0..<height {
            for x in 0..<width {
                let colour = rgb(x, y)
                if colour != background { ink += 1 }
                if colours.count < 4096 { colours.insert(colour) }
            }
        }
        return (Double(ink) / Double(width * height), colours.count)
    }
}
