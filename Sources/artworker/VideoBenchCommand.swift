import ArgumentParser
import CartoonGAN
import Foundation
import ImageIO
import Video

/// `make bench-video`: a clip converted twice (frame by frame, then with flicker reduction),
/// beside still inferences at the same size, so the cost of everything around the network
/// (decode, scale, hold, encode) shows as a ratio measured in one run.
struct VideoBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-video",
        abstract: "Time a clip's conversion against still inferences, and measure its flicker (used by `make bench-video`).")

    @Argument(help: "The clip.")
    var clip: String

    @Option(help: "Style whose model is used.")
    var style: String = "hayao"

    @Option(help: "Threads.")
    var threads: Int = 2

    @Option(help: "Timed still inferences before and after the clips (the median is reported).")
    var runs: Int = 5

    @Option(help: "Shrink frames so neither side exceeds this.")
    var maxSide: Int = ClipOptions.defaultMaxSide

    @OptionGroup var weights: WeightsOption

    func run() throws {
        guard let style = Style(rawValue: style) else { throw ValidationError("unknown style") }
        guard runs >= 1, threads >= 1 else { throw ValidationError("runs ≥ 1, threads ≥ 1") }
        let bytes = try readFile(clip, limit: ClipLimits.default.maxBytes)
        let (generator, _) = try weights.generator(style)
        let plan: ClipPlan
        do {
            plan = try ClipConverter.plan(bytes, options: ClipOptions(maxSide: maxSide))
        } catch {
            throw CLIError("\(clip): \(error)")
        }
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

        // Still inferences at the processing size, on the clip's own first picture.
        let first = try ClipConverter.firstPicture(bytes, maxSide: maxSide)
        func stills() throws -> [Double] {
            _ = try generator.cartoonize(first, threads: threads)
            return try (0..<runs).map { _ in
                let start = now()
                _ = try generator.cartoonize(first, threads: threads)
                return now() - start
            }
        }

        var rows: [(name: String, seconds: Double, result: ClipResult, pictures: [RGBImage])] = []
        var still = try stills()
        // The first is the reference the others are compared with.
        for (name, hold) in [("frame by frame", false), ("flicker reduction", true)] {
            var pictures: [RGBImage] = []
            let start = now()
            let result = try ClipConverter.convert(
                bytes, options: ClipOptions(maxSide: maxSide, reduceFlicker: hold, measureFlicker: true),
                workDirectory: FileManager.default.temporaryDirectory,
                shown: { pictures.append($0) },
                process: { try generator.cartoonize($0, threads: threads) })
            rows.append((name, now() - start, result, pictures))
        }
        still += try stills()
        still.sort()
        let stillMedian = still[still.count / 2]

        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        print("clip: \(clip): \(plan.info.codec) \(plan.info.width)×\(plan.info.height), \(String(format: "%.1f", plan.info.seconds ?? 0)) s"
              + " → \(plan.width)×\(plan.height) at \(plan.rate); \(cpu), \(threads) threads, style \(style.rawValue)")
        print(String(format: "still %d×%d inference: median %.0f ms of %d (range %.0f–%.0f ms)", plan.width, plan.height,
                     stillMedian * 1000, still.count, still.first! * 1000, still.last! * 1000))
        print("| run | pictures | ms per picture | vs still | around the network | flicker (still pixels) | change overall | still share | from frame by frame |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for row in rows {
            let perPicture = row.seconds / Double(row.result.frames)
            let flicker = row.result.flicker
            // How far the pictures are from the frame-by-frame ones (mean absolute difference, of
            // 255): how much of the look is kept.
            var difference = 0.0, count = 0
            for (a, b) in zip(rows[0].pictures, row.pictures) {
                for i in a.pixels.indices { difference += Double(abs(Int(a.pixels[i]) - Int(b.pixels[i]))) }
                count += a.pixels.count
            }
            // Everything but the network, timed inside the same conversion: immune to the
            // machine's drift between the still runs and the clip.
            let around = (row.result.totalSeconds - row.result.processingSeconds) / row.result.processingSeconds
            print(String(format: "| %@ | %d | %.0f | %+.1f%% | %+.1f%% | %.2f | %.2f | %.0f%% | %.2f |", row.name, row.result.frames,
                         perPicture * 1000, (perPicture / stillMedian - 1) * 100, around * 100, flicker?.still ?? .nan,
                         flicker?.overall ?? .nan, (flicker?.stillShare ?? 0) * 100, difference / Double(max(count, 1))))
        }
        if let flat = rows[0].result.flicker?.still, let smooth = rows[1].result.flicker?.still {
            print(String(format: "flicker reduced by %.0f%% (%.2f → %.2f)", (1 - smooth / flat) * 100, flat, smooth))
        }
    }
}
