import ArgumentParser
import CartoonGAN
import Foundation
import Kernels

/// One inference at a fixed size, timed: warm-ups, then the median of several runs. Used by
/// `make bench`, which runs it once per size (so peak RSS is per size) beside ONNX Runtime and
/// OpenVINO on the same model.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the generator at one image size (used by `make bench`).")

    @Option(help: "Image size as WIDTHxHEIGHT.")
    var size: String = "256x256"

    @Option(help: "Style whose model is timed.")
    var style: String = "hayao"

    @Option(help: "Threads.")
    var threads: Int = 2

    @Option(help: "Untimed warm-up runs.")
    var warmups: Int = 1

    @Option(help: "Timed runs (the median is reported).")
    var runs: Int = 5

    @Flag(help: "Also print the time of each layer in the last run (to stderr).")
    var layers = false

    @OptionGroup var weights: WeightsOption

    func run() throws {
        let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= Generator.minimumSide, parts[1] >= Generator.minimumSide else {
            throw ValidationError("--size must be WIDTHxHEIGHT, each at least \(Generator.minimumSide)")
        }
        guard let style = Style(rawValue: style) else { throw ValidationError("unknown style") }
        guard runs >= 1, warmups >= 0, threads >= 1 else { throw ValidationError("runs ≥ 1, warmups ≥ 0, threads ≥ 1") }
        let (generator, _) = try weights.generator(style)
        let (w, h) = (parts[0], parts[1])
        // A deterministic, photo-like input (smooth gradients plus texture).
        var input = Tensor(height: h, width: w, channels: 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 {
            input[y, x, c] = Float((x * (c + 1) + y * (3 - c) + (x * y) % 17 * 7) % 256)
        } } }
        for _ in 0..<warmups { _ = try generator(input, threads: threads) }
        var times: [Double] = []
        var steps: [(fraction: Double, seconds: Double)] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            steps = []
            _ = try generator(input, threads: threads) { fraction in
                steps.append((fraction, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        let median = times[times.count / 2]
        let flops = 2 * Double(generator.multiplyAdds(height: h, width: w))
        if layers {
            // Progress fires after each layer (its norm included) with the fraction of work done.
            var previous = (fraction: 0.0, seconds: 0.0)
            for (i, step) in steps.enumerated() {
                let seconds = step.seconds - previous.seconds
                let gflop = (step.fraction - previous.fraction) * flops / 1e9
                FileHandle.standardError.write(Data(String(format: "layer %2d  %8.1f ms  %6.1f GFLOP/s\n",
                                                           i + 1, seconds * 1000, gflop / seconds).utf8))
                previous = step
            }
        }
        let peakMB = Self.peakResidentMegabytes()
        // One line of JSON for the bench script.
        print("{\"engine\":\"artworker\",\"kernels\":\"\(Tiling.description)\",\"size\":\"\(w)x\(h)\","
              + "\"threads\":\(threads),\"median_s\":\(median),"
              + "\"runs\":\(times),\"gflop\":\(flops / 1e9),\"gflops\":\(flops / median / 1e9),\"peak_rss_mb\":\(peakMB)}")
    }

    /// VmHWM from /proc/self/status: the high-water mark of this process's own memory.
    /// (getrusage's ru_maxrss also counts the parent's memory from before exec.)
    static func peakResidentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kb / 1024
    }
}
