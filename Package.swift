// swift-tools-version: 6.0
// Artworker: photos to anime-style pictures with CartoonGAN, served by our own HTTP server.
// The layout follows DESIGN.md §4: system libraries at the bottom, the executable on top.
import PackageDescription

let package = Package(
    name: "Artworker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "artworker", targets: ["artworker"]),
        .library(name: "ImageIO", targets: ["ImageIO"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "CartoonGAN", targets: ["CartoonGAN"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "Auth", targets: ["Auth"]),
        .library(name: "StorageCore", targets: ["StorageCore"]),
        .library(name: "StorageSQLite", targets: ["StorageSQLite"]),
        .library(name: "StoragePostgres", targets: ["StoragePostgres"]),
        .library(name: "BlobS3", targets: ["BlobS3"]),
        .library(name: "Video", targets: ["Video"]),
    ],
    dependencies: [
        // Subcommands, help and validation for the `artworker` command line.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // SQLite: a WAL connection pool, migrations, records; links the system libsqlite3.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The ecosystem's logging API: access log and errors with request ids.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SHA-256 of weight files and models now; HMAC for JWT sessions later.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The ecosystem's metrics API, and its Prometheus backend (no SwiftNIO): /metrics.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries (Debian packages installed by `make setup`).
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CXCrypt", path: "Sources/CXCrypt"),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // PostgreSQL's client library (libpq-dev): the shared store when one machine is not enough.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),
        // libcurl (libcurl4-openssl-dev): the S3-compatible object store, signed by curl (SigV4).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        // FFmpeg's libraries (libavformat-dev, libavcodec-dev, libswscale-dev, libswresample-dev)
        // and giflib (libgif-dev): clips and animated GIFs in and out, in-process.
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg"),
        .systemLibrary(name: "CGif", path: "Sources/CGif"),
        // Header only, no library: the build target's vector width as clang sees it, so the
        // kernels pick tile shapes that fit its registers at compile time.
        .systemLibrary(name: "CPUFeatures", path: "Sources/CPUFeatures"),
        // Header only: glibc's malloc_trim, to hand a model load's dead pages back (ModelRegistry).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // The one HTML escaper (per Unicode scalar) for templates, SVG and hand-built markup.
        .target(name: "Markup"),
        .target(
            name: "ImageIO",
            dependencies: ["CTurboJPEG", "CPNG"]
        ),
        // Moving pictures: clips and GIFs decoded to RGB frames, sampled, encoded again (MP4 with
        // its audio, GIF), and the flicker reducer; knows nothing about the model.
        .target(name: "Video", dependencies: ["ImageIO", "CFFmpeg", "CGif"]),
        // Colour spaces and distances, k-means, scene and movie palettes.
        .target(name: "Palette", dependencies: ["ImageIO", "Markup"]),
        // Tensors and SIMD kernels: stdlib and Dispatch only, plus the target's vector width
        // (see Sources/Kernels/README.md).
        .target(name: "Kernels", dependencies: ["CPUFeatures"], exclude: ["README.md"]),
        // Bytes on the wire <-> requests and responses; knows nothing about the app.
        .target(name: "HTTPServer", dependencies: [
            "CEpoll", "CZlib", .product(name: "Logging", package: "swift-log"),
        ]),
        // Weight files, weight-norm folding and the generator graph built from Kernels ops.
        .target(name: "CartoonGAN", dependencies: [
            "Kernels", "ImageIO", "CMalloc", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // What the product keeps, as plain models and store protocols; no database library.
        .target(name: "StorageCore"),
        // The embedded default: SQLite through GRDB, named migrations, one store per table group.
        .target(name: "StorageSQLite", dependencies: ["StorageCore", .product(name: "GRDB", package: "GRDB.swift")]),
        // The same stores on PostgreSQL through libpq (no SwiftNIO): several nodes, one database.
        .target(name: "StoragePostgres", dependencies: ["StorageCore", "CLibPQ"]),
        // Pictures' bytes in an S3-compatible object store, through libcurl (no SwiftNIO).
        .target(name: "BlobS3", dependencies: ["StorageCore", "CCurl", .product(name: "Crypto", package: "swift-crypto")]),
        // `artworker migrate-storage`: SQLite copied into PostgreSQL, verified by counts and checksums.
        .target(name: "StorageMigration", dependencies: [
            "StorageCore", "StorageSQLite", "StoragePostgres",
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Passwords (bcrypt via libxcrypt), session tokens (JWT HS256), CSRF; nothing about HTTP.
        .target(name: "Auth", dependencies: ["CXCrypt", .product(name: "Crypto", package: "swift-crypto")]),
        // What people read, in every language the product speaks: the message catalogs,
        // language negotiation (RFC 9110 §12.5.4) and plural rules. Foundation only.
        .target(name: "Localization"),
        // The product: composition root, configuration, controllers, views.
        .target(name: "WebApp", dependencies: [
            "HTTPServer", "Auth", "StorageCore", "StorageSQLite", "StoragePostgres", "BlobS3", "ImageIO", "Kernels", "CartoonGAN", "Palette", "Video", "Markup", "CZlib", "CMalloc", "Localization",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(
            name: "artworker",
            dependencies: [
                "ImageIO", "Kernels", "CartoonGAN", "Palette", "Video", "StorageCore", "StorageSQLite", "StoragePostgres", "StorageMigration", "BlobS3", "WebApp", "HTTPServer", "CTurboJPEG", "CPNG", "CZlib", "CXCrypt",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Shared test data and a seeded random source, for the test targets only.
        .target(name: "TestSupport", dependencies: ["Video", "ImageIO"], path: "Tests/TestSupport"),
        .testTarget(name: "MarkupTests", dependencies: ["Markup"]),
        .testTarget(
            name: "ImageIOTests",
            dependencies: ["ImageIO", "CTurboJPEG", "CZlib", "TestSupport"]
        ),
        .testTarget(
            name: "PaletteTests",
            dependencies: ["Palette", "ImageIO", "TestSupport"]
        ),
        .testTarget(
            name: "KernelsTests",
            dependencies: ["Kernels", "TestSupport"]
        ),
        .testTarget(
            name: "CartoonGANTests",
            dependencies: ["CartoonGAN", "Kernels", "ImageIO", "TestSupport"]
        ),
        .testTarget(
            name: "VideoTests",
            dependencies: ["Video", "ImageIO", "TestSupport"]
        ),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["HTTPServer", "TestSupport"]
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["StorageCore", "StorageSQLite", "StoragePostgres", "BlobS3", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "AuthTests",
            dependencies: ["Auth", "TestSupport"]
        ),
        .testTarget(
            name: "LocalizationTests",
            dependencies: ["Localization", "TestSupport"]
        ),
        .testTarget(
            name: "WebAppTests",
            dependencies: ["WebApp", "HTTPServer", "TestSupport", "Localization", "ImageIO", "CartoonGAN", "Video", "StorageCore", "StorageSQLite", "StoragePostgres", "BlobS3", "Palette", "Markup", "CZlib", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ArtworkerCLITests",
            dependencies: ["artworker", "ImageIO", "StorageCore", "StorageSQLite", "StoragePostgres", "BlobS3", "TestSupport", "Video", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)

// `make fuzz` only (ARTWORKER_FUZZ=1): libFuzzer targets, one per parser that reads what a
// stranger sends. They are built with `-sanitize=fuzzer,address -parse-as-library`, which gives
// them libFuzzer's main, so they stay out of every other build. Seeds: Tests/Fuzz/Corpus/<name>.
if Context.environment["ARTWORKER_FUZZ"] == "1" {
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzRequestHead", ["HTTPServer"]), ("FuzzChunked", ["HTTPServer"]), ("FuzzMultipart", ["HTTPServer"]),
        ("FuzzCookies", ["HTTPServer"]), ("FuzzZip", ["WebApp"]), ("FuzzColourCSV", ["Palette"]),
        ("FuzzJPEG", ["ImageIO"]), ("FuzzPNG", ["ImageIO"]), ("FuzzJWT", ["Auth"]), ("FuzzClip", ["Video", "ImageIO"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Tests/Fuzz/FuzzSupport",
                                   swiftSettings: [.enableExperimentalFeature("Extern")]))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: name, dependencies: dependencies + ["FuzzSupport"], path: "Tests/Fuzz/\(name)"))
    }
}
