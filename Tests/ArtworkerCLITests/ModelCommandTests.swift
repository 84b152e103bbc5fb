import Foundation
import ImageIO
import Testing
import TestSupport
import Video

@Suite("artworker import-weights and cartoonize")
struct ModelCommandTests {
    static let manifest = SharedData.packageRoot.appendingPathComponent("Weights/manifest.json").path
    static let weightsSource = CLI.shared.appendingPathComponent("weights/cartoongan").path

    /// Imports one style into a fresh folder (the tests do not rely on `make weights`).
    static func importedWeights(_ style: String) throws -> URL {
        let dir = try CLI.temporaryDirectory()
        let result = try CLI.run(["import-weights", "--from", weightsSource, "--style", style,
                                  "--manifest", manifest, "--weights", dir.path])
        guard result.status == 0 else { throw FixtureFailure(result.stderr) }
        return dir
    }

    struct FixtureFailure: Error { let message: String; init(_ m: String) { message = m } }

    @Test("import, then cartoonize a photo to the reference output")
    func importAndCartoonize() throws {
        let weights = try Self.importedWeights("hayao")
        defer { try? FileManager.default.removeItem(at: weights) }
        #expect(FileManager.default.fileExists(atPath: weights.appendingPathComponent("hayao.safetensors").path))

        let output = weights.appendingPathComponent("cat.png").path
        let input = CLI.shared.appendingPathComponent("testdata/golden/chelsea_97x131_input.png").path
        let result = try CLI.run(["cartoonize", input, "-o", output, "--style", "hayao", "--weights", weights.path, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Hayao, 131×97"))
        // The same pixels as the golden output's top-left 131×97, within one level on ≤ 0.1%.
        let produced = try ImageDecoder.decode(Data(contentsOf: URL(fileURLWithPath: output))).image
        let golden = try ImageDecoder.decode(Data(contentsOf: CLI.shared.appendingPathComponent(
            "testdata/golden/chelsea_97x131_hayao_output.png"))).image.cropped(x: 0, y: 0, width: 131, height: 97)
        let diffs = zip(produced.pixels, golden.pixels).map { abs(Int($0) - Int($1)) }
        #expect(produced.width == 131 && produced.height == 97)
        #expect(diffs.max() ?? 99 <= 1)
        #expect(Double(diffs.filter { $0 != 0 }.count) <= 0.001 * Double(diffs.count))
    }

    @Test("--style all writes one file per style")
    func allStyles() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let imported = try CLI.run(["import-weights", "--from", Self.weightsSource, "--manifest", Self.manifest, "--weights", dir.path])
        #expect(imported.status == 0, "\(imported.stderr)")
        let input = CLI.shared.appendingPathComponent("testdata/golden/coffee_104x156_input.png").path
        let result = try CLI.run(["cartoonize", input, "-o", dir.appendingPathComponent("cup.jpg").path,
                                  "--style", "all", "--max-side", "64", "--weights", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        for style in ["hayao", "hosoda", "paprika", "shinkai"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("cup-\(style).jpg").path))
        }
        #expect(result.stdout.contains("64×43"))
    }

    @Test("a weight file that does not match the manifest is refused, naming it")
    func checksumMismatch() throws {
        let source = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: source) }
        let style = source.appendingPathComponent("paprika")
        try FileManager.default.copyItem(atPath: Self.weightsSource + "/paprika", toPath: style.path)
        let victim = style.appendingPathComponent("conv05_2.weight.npy")
        var bytes = try Data(contentsOf: victim)
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: victim)
        let result = try CLI.run(["import-weights", "--from", source.path, "--style", "paprika",
                                  "--manifest", Self.manifest, "--weights", source.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("paprika/conv05_2.weight.npy: SHA-256 is"))
        #expect(!FileManager.default.fileExists(atPath: source.appendingPathComponent("paprika.safetensors").path))
    }

    @Test("bad requests get a readable error and a non-zero exit", arguments: [
        (["import-weights", "--from", "/nonexistent/weights"], "github.com/mnicnc404/CartoonGan-tensorflow"),
        (["import-weights", "--from", "/tmp", "--style", "ghibli"], "unknown style 'ghibli'"),
        (["cartoonize", "PHOTO", "-o", "OUT.png", "--style", "pixar"], "unknown style 'pixar'"),
        (["cartoonize", "PHOTO", "-o", "OUT.gif"], "name the output .png or .jpg"),
        (["cartoonize", "PHOTO", "-o", "OUT.png", "--max-side", "3"], "--max-side must be at least 5"),
        (["cartoonize", "PHOTO", "-o", "OUT.png", "--weights", "/nonexistent"], "run `make weights`"),
    ])
    func errors(arguments: [String], message: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = arguments.map { arg in
            switch arg {
            case "PHOTO": CLI.shared.appendingPathComponent("testdata/photos/coffee.png").path
            case let out where out.hasPrefix("OUT."): dir.appendingPathComponent(out).path
            default: arg
            }
        }
        let result = try CLI.run(args)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("a clip with sound, and a GIF with a poster; a clip named for a photo, or too long, is refused")
    func clips() throws {
        let weights = try Self.importedWeights("hayao")
        defer { try? FileManager.default.removeItem(at: weights) }
        let clip = weights.appendingPathComponent("walk.mp4"), gif = weights.appendingPathComponent("loop.gif")
        try Data(try TestClip.make(seconds: 1, rate: FrameRate(24), width: 64, height: 48, audio: true)).write(to: clip)
        try Data(try TestClip.gif(frames: 5, hundredths: 10)).write(to: gif)
        let out = weights.appendingPathComponent("out.mp4")
        let made = try CLI.run(["cartoonize", clip.path, "-o", out.path, "--weights", weights.path, "--threads", "2"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("h264 64×48 → 64×48, 12 pictures at 12 fps, 1.00 s with sound"), "\(made.stdout)")
        let plan = try ClipConverter.plan(Array(try Data(contentsOf: out)), options: ClipOptions())
        #expect(plan.info.hasAudio && plan.info.frameCount == 12)

        let outGIF = weights.appendingPathComponent("out.gif"), poster = weights.appendingPathComponent("still.png")
        let looped = try CLI.run(["cartoonize", gif.path, "-o", outGIF.path, "--poster", poster.path, "--weights", weights.path])
        #expect(looped.status == 0, "\(looped.stderr)")
        #expect(try ClipConverter.plan(Array(try Data(contentsOf: outGIF)), options: ClipOptions()).info.frameCount == 5)
        #expect(try ImageDecoder.decode(Array(try Data(contentsOf: poster))).image.width == 48)

        for (arguments, message) in [
            (["-o", weights.appendingPathComponent("x.png").path], "is a clip: name the output .mp4 or .gif"),
            (["-o", weights.appendingPathComponent("x.mp4").path, "--max-seconds", "0.5"], "the clip lasts 1 s, the limit is 0.5 s"),
            (["-o", weights.appendingPathComponent("x.mp4").path, "--fps", "30"], "--fps must be auto, twos or source"),
        ] {
            let refused = try CLI.run(["cartoonize", clip.path] + arguments + ["--weights", weights.path])
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: weights.appendingPathComponent("x.png").path))
            #expect(!FileManager.default.fileExists(atPath: weights.appendingPathComponent("x.mp4").path))
        }
    }

    @Test("a photo smaller than 5×5 is refused with the reason")
    func tinyPhoto() throws {
        let weights = try Self.importedWeights("shinkai")
        defer { try? FileManager.default.removeItem(at: weights) }
        let tiny = weights.appendingPathComponent("tiny.png").path
        let made = try CLI.run(["image", "convert", CLI.shared.appendingPathComponent("testdata/photos/coffee.png").path,
                                tiny, "--max-side", "4"])
        #expect(made.status == 0)
        let result = try CLI.run(["cartoonize", tiny, "-o", weights.appendingPathComponent("out.png").path,
                                  "--style", "shinkai", "--weights", weights.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("the generator needs at least 5×5 pixels"))
    }
}
