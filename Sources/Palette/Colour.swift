import Foundation

/// A colour in sRGB with fractional 0–255 channels (cluster centres and imported colours are
/// not whole numbers), with the other views the palette pages need: HSV, hex, CIE Lab.
public struct Colour: Sendable, Hashable, Codable {
    public var r: Double
    public var g: Double
    public var b: Double

    public init(r: Double, g: Double, b: Double) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// Channels clamped to 0–255 (imported files hold values like -1.2e-14 and 255.0000001).
    public var clamped: Colour {
        Colour(r: min(max(r, 0), 255), g: min(max(g, 0), 255), b: min(max(b, 0), 255))
    }

    /// "#rrggbb", channels rounded after clamping.
    public var hex: String {
        let c = clamped
        return "#" + [c.r, c.g, c.b].map { v in
            let n = Int(v.rounded())
            return (n < 16 ? "0" : "") + String(n, radix: 16)
        }.joined()
    }

    /// Hue in degrees [0, 360), saturation and value in [0, 1]. Greys have hue 0.
    public var hsv: (h: Double, s: Double, v: Double) {
        let c = clamped
        let r = c.r / 255, g = c.g / 255, b = c.b / 255
        let high = max(r, g, b), low = min(r, g, b), range = high - low
        guard range > 0 else { return (0, 0, high) }
        var h: Double
        if high == r {
            h = (g - b) / range
        } else if high == g {
            h = 2 + (b - r) / range
        } else {
            h = 4 + (r - g) / range
        }
        h *= 60
        if h < 0 { h += 360 }
        return (h, range / high, high)
    }

    /// The colour with hue `h` degrees, saturation and value in [0, 1].
    public init(h: Double, s: Double, v: Double) {
        let hue = (h.truncatingRemainder(dividingBy: 360) + 360).truncatingRemainder(dividingBy: 360) / 60
        let sector = Int(hue.rounded(.down)), f = hue - Double(sector)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        let (r, g, b): (Double, Double, Double) = switch sector {
        case 0: (v, t, p)
        case 1: (q, v, p)
        case 2: (p, v, t)
        case 3: (p, q, v)
        case 4: (t, p, v)
        default: (v, p, q)
        }
        self.init(r: r * 255, g: g * 255, b: b * 255)
    }

    /// CIE L*a*b* (D65 white, sRGB transfer curve, IEC 61966-2-1).
    public var lab: (l: Double, a: Double, b: Double) {
        func linear(_ v: Double) -> Double {
            let c = v / 255
            return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        let c = clamped
        let r = linear(c.r), g = linear(c.g), b = linear(c.b)
        // sRGB → XYZ (D65), normalised by the reference white.
        let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
        let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
        let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883
        func f(_ t: Double) -> Double { t > 216.0 / 24389 ? cbrt(t) : (24389.0 / 27 * t + 16) / 116 }
        let fx = f(x), fy = f(y), fz = f(z)
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// The perceptual difference CIEDE2000 between two colours (about 1 = just noticeable).
    public func difference(to other: Colour) -> Double {
        let a = lab, b = other.lab
        return Self.ciede2000((a.l, a.a, a.b), (b.l, b.a, b.b))
    }

    /// CIEDE2000 (Sharma, Wu and Dalal, 2005) with kL = kC = kH = 1.
    public static func ciede2000(_ lab1: (Double, Double, Double), _ lab2: (Double, Double, Double)) -> Double {
        let (l1, a1, b1) = lab1, (l2, a2, b2) = lab2
        let radians = Double.pi / 180
        let c1 = (a1 * a1 + b1 * b1).squareRoot(), c2 = (a2 * a2 + b2 * b2).squareRoot()
        let cMean7 = pow((c1 + c2) / 2, 7)
        let g = 0.5 * (1 - (cMean7 / (cMean7 + pow(25, 7))).squareRoot())
        let a1p = (1 + g) * a1, a2p = (1 + g) * a2
        let c1p = (a1p * a1p + b1 * b1).squareRoot(), c2p = (a2p * a2p + b2 * b2).squareRoot()
        func hue(_ b: Double, _ a: Double) -> Double {
            if a == 0 && b == 0 { return 0 }
            let h = atan2(b, a) / radians
            return h < 0 ? h + 360 : h
        }
        let h1p = hue(b1, a1p), h2p = hue(b2, a2p)
        let dLp = l2 - l1, dCp = c2p - c1p
        var dhp = 0.0
        if c1p * c2p != 0 {
            dhp = h2p - h1p
            if dhp > 180 { dhp -= 360 } else if dhp < -180 { dhp += 360 }
        }
        let dHp = 2 * (c1p * c2p).squareRoot() * sin(dhp / 2 * radians)
        let lMean = (l1 + l2) / 2, cMeanP = (c1p + c2p) / 2
        var hMean = h1p + h2p
        if c1p * c2p != 0 {
            if abs(h1p - h2p) <= 180 { hMean /= 2 } else if h1p + h2p < 360 { hMean = (hMean + 360) / 2 } else { hMean = (hMean - 360) / 2 }
        }
        let t = 1 - 0.17 * cos((hMean - 30) * radians) + 0.24 * cos(2 * hMean * radians)
            + 0.32 * cos((3 * hMean + 6) * radians) - 0.20 * cos((4 * hMean - 63) * radians)
        let dTheta = 30 * exp(-pow((hMean - 275) / 25, 2))
        let cMeanP7 = pow(cMeanP, 7)
        let rc = 2 * (cMeanP7 / (cMeanP7 + pow(25, 7))).squareRoot()
        let sl = 1 + 0.015 * pow(lMean - 50, 2) / (20 + pow(lMean - 50, 2)).squareRoot()
        let sc = 1 + 0.045 * cMeanP, sh = 1 + 0.015 * cMeanP * t
        let rt = -sin(2 * dTheta * radians) * rc
        let l = dLp / sl, c = dCp / sc, h = dHp / sh
        return (l * l + c * c + h * h + rt * c * h).squareRoot()
    }
}
