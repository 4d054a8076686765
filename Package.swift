// swift-tools-version:6.0
import PackageDescription

/// Release builds reach generic type metadata through accessor functions
/// instead of demangling each type's name at its first use: a tenth of
/// exec's start went to swift_getTypeByMangledName (docs/PERFORMANCE.md).
let releaseSettings: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]

let package = Package(
    name: "vfio-ap-sim",
    products: [
        .executable(name: "vfio-ap-sim", targets: ["vfio-ap-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CFuse", path: "CFuse", pkgConfig: "fuse3",
                       providers: [.apt(["libfuse3-dev"])]),
        .target(name: "APCore",
                dependencies: [.product(name: "SystemPackage", package: "swift-system"),
                               .product(name: "Yams", package: "Yams")],
                resources: [.embedInCode("Topologies/default.yaml")],
                swiftSettings: releaseSettings),
        .target(name: "Sysfs",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: releaseSettings),
        .target(name: "VFIOMigration",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: releaseSettings),
        .target(name: "Events",
                dependencies: ["APCore", "Sysfs"],
                swiftSettings: releaseSettings),
        .target(name: "StateStore",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: releaseSettings),
        // The host as a picture (adapters x domains, who owns each queue):
        // a pure function of APCore's state, drawn as text or JSON.
        .target(name: "MatrixPicture", dependencies: ["APCore"],
                swiftSettings: releaseSettings),
        .target(name: "FuseServer",
                dependencies: ["Sysfs", "CFuse", .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: releaseSettings),
        .executableTarget(name: "vfio-ap-sim",
                          dependencies: ["APCore", "Sysfs", "Events", "FuseServer", "VFIOMigration", "StateStore", "MatrixPicture",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "SystemPackage", package: "swift-system")],
                          swiftSettings: releaseSettings
                              + [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))],
                          // Release: Swift's runtime and Foundation linked in, and a
                          // position-dependent executable, so the dynamic loader has
                          // no 82,000 relative relocations to apply on every start
                          // (docs/PERFORMANCE.md, "Where exec's time goes").
                          linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xclang-linker", "-no-pie"],
                                                        .when(platforms: [.linux], configuration: .release))]),
        // Helpers shared by the test targets (errno assertions, hosts from
        // YAML, subprocesses, mounted simulators); not a test target itself.
        .target(name: "TestSupport",
                dependencies: ["APCore", .product(name: "SystemPackage", package: "swift-system")],
                path: "Tests/TestSupport"),
        .testTarget(name: "APCoreTests", dependencies: ["APCore", "TestSupport"]),
        .testTarget(name: "SysfsTests", dependencies: ["Sysfs", "APCore", "TestSupport"]),
        .testTarget(name: "VFIOMigrationTests", dependencies: ["VFIOMigration", "APCore", "TestSupport"]),
        .testTarget(name: "StateStoreTests", dependencies: ["StateStore", "APCore", "TestSupport"]),
        .testTarget(name: "MatrixPictureTests", dependencies: ["MatrixPicture", "APCore", "TestSupport"]),
        .testTarget(name: "FuseServerTests", dependencies: ["FuseServer", "Sysfs"]),
        .testTarget(name: "EventsTests", dependencies: ["Events", "APCore", "Sysfs", "TestSupport"]),
        .testTarget(name: "MigrationEndToEndTests", dependencies: ["vfio-ap-sim", "VFIOMigration", "APCore", "TestSupport"]),
        .testTarget(name: "MountTests", dependencies: ["vfio-ap-sim", "FuseServer", "Sysfs", "APCore", "TestSupport"]),
        // Real container runtimes (podman, bubblewrap, systemd-nspawn) and the
        // Kubernetes manifests of deploy/kubernetes.
        .testTarget(name: "ContainerTests", dependencies: ["vfio-ap-sim", "TestSupport",
                                                           .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v5]
)
