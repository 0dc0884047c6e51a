// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SGDEscape",
    products: [
        .executable(name: "sgd-escape", targets: ["sgd-escape"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Jobs", targets: ["Jobs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CGSL",
            pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev"])]
        ),
        // C kernels with explicit SIMD vectors and run-time dispatch by instruction set
        // (AVX-512F, AVX2, generic); no contraction into fused multiply-adds, so every build
        // gives the same bits.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-fast-math", "-Wno-psabi"])]
        ),
        .target(
            name: "Diffusion",
            dependencies: ["CGSL", "CKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(
            name: "Jobs",
            dependencies: [
                "Diffusion",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .target(
            name: "Reporting",
            dependencies: ["Diffusion", "Jobs", "CGSL", .product(name: "CSV", package: "CSV.swift")]
        ),
        .executableTarget(
            name: "sgd-escape",
            dependencies: [
                "Diffusion", "Jobs", "Reporting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "sgd-escape-bench",
            dependencies: ["Diffusion", "Jobs"],
            path: "Benchmarks/Swift"
        ),
        .target(name: "TestSupport", dependencies: ["Diffusion"], path: "Tests/TestSupport"),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "TestSupport", "CGSL"]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Diffusion", "TestSupport"]),
        .testTarget(
            name: "CLITests",
            dependencies: ["TestSupport", "sgd-escape", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "ReportingTests",
            dependencies: ["Reporting", "Diffusion", "Jobs", "TestSupport", .product(name: "CSV", package: "CSV.swift")],
            exclude: ["Fixtures"]
        ),
    ]
)
