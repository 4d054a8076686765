// swift-tools-version:6.0
import PackageDescription

// The libFuzzer harnesses (issue 10), a package of their own so that the
// main build never links them: each Fuzz* executable has no main of its own
// and is only built by fuzz/run.sh with `swift build --sanitize=fuzzer`,
// which links libFuzzer's main. APCore, Sysfs and VFIOMigration are the
// project's own sources (symlinks into ../Sources), instrumented for coverage.
let package = Package(
    name: "vfio-ap-sim-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "APCore",
                dependencies: [.product(name: "SystemPackage", package: "swift-system"),
                               .product(name: "Yams", package: "Yams")],
                resources: [.embedInCode("Topologies/default.yaml")]),
        .target(name: "Sysfs",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "VFIOMigration",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")]),
        // Input cursor, seed corpora, the model invariants, tree walks.
        .target(name: "FuzzSupport",
                dependencies: ["APCore", "Sysfs", "VFIOMigration",
                               .product(name: "SystemPackage", package: "swift-system")]),
        .executableTarget(name: "FuzzKernelParsers", dependencies: ["FuzzSupport", "Sysfs", "APCore"]),
        .executableTarget(name: "FuzzAttributeStores", dependencies: ["FuzzSupport", "Sysfs", "APCore", "VFIOMigration"]),
        .executableTarget(name: "FuzzTopology", dependencies: ["FuzzSupport", "Sysfs", "APCore"]),
        .executableTarget(name: "FuzzResumeStream", dependencies: ["FuzzSupport", "APCore", "VFIOMigration"]),
    ],
    swiftLanguageModes: [.v5]
)
