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
    ],
    targets: [
        .systemLibrary(
            name: "CGSL",
            pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev"])]
        ),
        .target(
            name: "Diffusion",
            dependencies: ["CGSL"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(name: "Jobs", dependencies: ["Diffusion"]),
        .target(name: "Reporting", dependencies: ["Diffusion", "Jobs", "CGSL"]),
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
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "sgd-escape"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Diffusion", "TestSupport"]),
    ]
)
