import CartoonGAN
import Foundation
import HTTPServer
import ImageIO
import StorageCore
import StorageSQLite
import Synchronization
import Testing
import TestSupport
@testable import WebApp

/// The hayao model imported once into a temporary folder (the tests do not rely on `make weights`).
enum TestModels {
    static let folder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("artworker-models-\(UUID().uuidString)")
        let manifest = try! WeightImporter.manifest(SharedData.packageRoot.appendingPathComponent("Weights/manifest.json"))
        try! WeightImporter.importStyle(.hayao, from: SharedData.url("weights/cartoongan"), to: folder, manifest: manifest)
        return folder
    }()
}

@Suite("Conversion service", .serialized)
struct ConversionServiceTests {
    func service() throws -> ConversionService {
        ConversionService(models: ModelRegistry(folder: TestModels.folder))
    }

    /// Checks the request and runs it as a worker would, from the job's inputs.
    func convert(_ service: ConversionService, _ uploads: [ConversionService.Upload], strength: Int?, maxSide: Int,
                 progress: @escaping @Sendable (Double) -> Void = { _ in }, isCancelled: @escaping @Sendable () -> Bool = { false }) throws -> [Image] {
        let parameters = try service.check(uploads: uploads, style: "hayao", strength: strength, maxSide: maxSide, owner: nil, maxPhotos: 1)
        return try service.run(parameters, owner: nil, photos: ConversionService.inputs(uploads), progress: progress, isCancelled: isCancelled)
    }

    static let photo = try! SharedData.bytes("testdata/golden/coffee_104x156_input.png")

    @Test("bad requests are refused before anything runs", arguments: [
        ([], "hayao", nil, nil, 400, "at least one photo"),
        ([photo, photo], "hayao", nil, nil, 400, "At most 1 photo at once without an account"),
        ([photo], "ghibli", nil, nil, 400, "Unknown style: choose"),
        ([photo], "hosoda", nil, nil, 503, "Hosoda model is not installed"),
        ([photo], "hayao", 101, nil, 400, "from 0 to 100"),
        ([photo], "hayao", nil, 4, 400, "processing size"),
        ([Array("not a picture".utf8)], "hayao", nil, nil, 422, "not a JPEG or PNG photo, a video clip or an animated GIF"),
        ([Array(photo.prefix(300))], "hayao", nil, nil, 422, "PNG"),
    ] as [([[UInt8]], String, Int?, Int?, Int, String)])
    func refusals(uploads: [[UInt8]], style: String, strength: Int?, maxSide: Int?, status: Int, message: String) throws {
        let service = try service()
        #expect {
            _ = try service.check(uploads: uploads.map { .init(bytes: $0, filename: "x.png") }, style: style,
                                    strength: strength, maxSide: maxSide, owner: nil, maxPhotos: 1)
        } throws: { error in
            guard let refusal = error as? Refusal else { return false }
            let e = HTTPError(refusal) // the status the web layer answers with
            return e.status.code == status && e.message.contains(message)
        }
    }

    @Test("an anonymous conversion makes one expiring result with its provenance")
    func anonymousConversion() throws {
        let service = try service()
        let reports = Mutex<[Double]>([])
        let made = try convert(service, [.init(bytes: Self.photo, filename: "cup.png")], strength: nil, maxSide: 64,
                               progress: { fraction in reports.withLock { $0.append(fraction) } })
        #expect(made.count == 1)
        let fractions = reports.withLock { $0 }
        #expect(fractions.count > 20 && fractions.last == 1 && fractions == fractions.sorted()) // layer by layer, rising
        let image = try #require(made.first)
        #expect(image.title == "cup")
        #expect(image.visibility == .anonymous && image.expiresAt != nil && image.ownerID == nil)
        #expect(image.inputWidth == 156 && image.inputHeight == 104 && image.width == 64 && image.height == 43)
        #expect(image.strength == 100 && image.style == "hayao" && image.modelSHA256.count == 64)
        #expect(image.originalType == "image/png" && image.original == Data(Self.photo))
        let result = try ImageDecoder.decode([UInt8](image.result)).image
        #expect(result.width == 64 && result.height == 43)
        #expect(try ImageDecoder.info([UInt8](image.thumbnail)).format == .jpeg)
    }

    @Test("strength 0 gives the photo back; a cancelled run stops with nothing made")
    func strengthAndCancel() throws {
        let service = try service()
        let plain = try convert(service, [.init(bytes: Self.photo, filename: nil)], strength: 0, maxSide: 40)
        let expected = try ImageDecoder.decode(Self.photo).image.fitting(maxSide: 40)
        #expect(try ImageDecoder.decode([UInt8](try #require(plain.first).result)).image == expected)
        #expect(throws: ModelError.cancelled) {
            _ = try convert(service, [.init(bytes: Self.photo, filename: nil)], strength: 100, maxSide: 40, isCancelled: { true })
        }
    }

    @Test("a photo that cannot be read when the job runs is the owner's refusal, not our error")
    func unreadableInput() throws {
        let service = try service()
        let parameters = ConversionService.Parameters(styles: [.hayao], strength: 100, maxSide: 64)
        #expect {
            _ = try service.run(parameters, owner: nil, photos: [JobInput(name: "x.png", bytes: Data("junk".utf8))],
                                progress: { _ in }, isCancelled: { false })
        } throws: { ($0 as? JobFailure)?.description.hasPrefix("x.png: ") == true }
    }

    @Test("turn then crop, applied to the full-size original: the stored original, the 'before' and the sizes follow")
    func editApplied() throws {
        let service = try service()
        let upload = ConversionService.Upload(bytes: Self.photo, filename: "cup.png") // 156×104
        let edit = ConversionService.Edit(rotate: 90, crop: .init(x: 10, y: 20, width: 80, height: 120)) // of the 104×156 turned photo
        let parameters = try service.check(uploads: [upload], style: "hayao", strength: 0, maxSide: 60, edit: edit, owner: nil, maxPhotos: 1)
        #expect(parameters.edit == edit)
        let image = try #require(try service.run(parameters, owner: nil, photos: ConversionService.inputs([upload]),
                                                 progress: { _ in }, isCancelled: { false }).first)
        let upright = try ImageDecoder.decode(Self.photo).image
        let expected = upright.applyingOrientation(.right).cropped(x: 10, y: 20, width: 80, height: 120)
        #expect(image.inputWidth == 80 && image.inputHeight == 120 && image.width == 40 && image.height == 60)
        // The original is the edit, losslessly (PNG in, PNG out); strength 0 gives the fitted photo back.
        let original = try ImageDecoder.decode([UInt8](image.original)).image
        #expect(image.originalType == "image/png" && original == expected)
        #expect(try ImageDecoder.decode([UInt8](image.result)).image == expected.fitting(maxSide: 60))
        let before = try ImageDecoder.decode([UInt8](image.before))
        #expect(before.info.format == .jpeg && before.image.width == 40 && before.image.height == 60)
        // Every quarter turn against the orientation code that does the same.
        for (degrees, orientation) in [(0, ExifOrientation.up), (180, .down), (270, .left)] {
            let turned = try ConversionService.Edit(rotate: degrees).apply(to: upright, file: nil)
            #expect(turned == upright.applyingOrientation(orientation), "\(degrees)°")
        }
    }

    @Test("a crop outside the turned photo, or on several photos, is refused with the file's name", arguments: [
        (ConversionService.Edit(rotate: 90, crop: .init(x: 0, y: 0, width: 120, height: 100)), 1, "cup.png: the crop does not lie inside the photo (104×156"),
        (ConversionService.Edit(rotate: 0, crop: .init(x: 100, y: 0, width: 57, height: 10)), 1, "cup.png: the crop does not lie inside"),
        (ConversionService.Edit(rotate: 90, crop: nil), 2, "one photo at a time"),
    ] as [(ConversionService.Edit, Int, String)])
    func editRefusals(edit: ConversionService.Edit, photos: Int, message: String) throws {
        let service = try service()
        #expect {
            _ = try service.check(uploads: Array(repeating: .init(bytes: Self.photo, filename: "cup.png"), count: photos),
                                  style: "hayao", strength: nil, maxSide: 64, edit: edit, owner: 1, maxPhotos: 5)
        } throws: { error in
            let e = HTTPError(try #require(error as? Refusal))
            return e.status.code == 400 && e.message.contains(message)
        }
    }

    @Test("blending is a rounded per-channel mix")
    func blend() {
        let cartoon = RGBImage(width: 1, height: 1, fill: RGB(200, 0, 100))
        let photo = RGBImage(width: 1, height: 1, fill: RGB(0, 255, 101))
        #expect(ConversionService.blend(cartoon, with: photo, strength: 25)[0, 0] == RGB(50, 191, 101))
        #expect(ConversionService.blend(cartoon, with: photo, strength: 100)[0, 0] == RGB(200, 0, 100))
    }
}
