// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "relay",
    products: [
        .executable(name: "relay-server", targets: ["relay-server"]),
        .executable(name: "relay-client", targets: ["relay-client"]),
        .library(name: "RelayCrypto", targets: ["RelayCrypto"]),
        .library(name: "RelayProtocol", targets: ["RelayProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The benchmark's comparison peer only; no product links it.
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
    ],
    targets: [
        // MARK: The C boundary
        .systemLibrary(
            name: "CLibEV",
            providers: [.apt(["libev-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "CRelayShims",
            dependencies: ["CLibEV", "COpenSSL"],
            linkerSettings: [.linkedLibrary("ev"), .linkedLibrary("crypto"), .linkedLibrary("ssl")]
        ),

        // MARK: Libraries
        .target(name: "RelayCrypto", dependencies: ["COpenSSL", "CRelayShims"]),
        .target(name: "RelayProtocol"),
        .target(name: "RelayIO", dependencies: ["CLibEV", "CRelayShims"]),
        .target(name: "RelayTLS", dependencies: ["COpenSSL", "CRelayShims", "RelayIO"]),
        .target(
            name: "RelayServer",
            dependencies: [
                "RelayIO", "RelayTLS", "RelayCrypto", "RelayProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RelayClient",
            dependencies: ["RelayIO", "RelayTLS", "RelayCrypto", "RelayProtocol"]
        ),

        // MARK: Executables (argument parsing only)
        .executableTarget(
            name: "relay-server",
            dependencies: [
                "RelayServer", "RelayIO", "RelayTLS", "RelayProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "relay-client",
            dependencies: [
                "RelayClient", "RelayIO", "RelayTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Benchmarks
        .executableTarget(
            name: "bench-crypto",
            dependencies: [
                "RelayCrypto", "COpenSSL", "CRelayShims",
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/bench-crypto"
        ),
        // What the benchmarks share (finding the programs they run, bench-pipe's pattern).
        .target(name: "BenchmarkSupport", path: "Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "bench-relay",
            dependencies: [
                // relay-server: so that `swift run bench-relay` builds the server it measures.
                "relay-server", "RelayProtocol", "BenchmarkSupport",
                // COpenSSL, CRelayShims: the TLS path's peers (TLSPeer.swift).
                "COpenSSL", "CRelayShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/bench-relay"
        ),
        .executableTarget(
            name: "bench-pipe",
            dependencies: [
                // relay-server, relay-client: so that `swift run -c release bench-pipe` builds
                // the programs it measures beside it (its default --bin-dir).
                "relay-server", "relay-client", "BenchmarkSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/bench-pipe"
        ),

        // MARK: Fuzz targets (scripts/fuzz.sh builds them with libFuzzer; a plain build
        // gives executables that replay the input files named as arguments)
        .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "FuzzFrameDecoder", dependencies: ["FuzzSupport", "RelayProtocol"], path: "Fuzz/FuzzFrameDecoder"),
        .executableTarget(name: "FuzzOpen", dependencies: ["FuzzSupport", "RelayCrypto"], path: "Fuzz/FuzzOpen"),
        .executableTarget(
            name: "FuzzRecordOpen", dependencies: ["FuzzSupport", "RelayCrypto"], path: "Fuzz/FuzzRecordOpen"
        ),
        .executableTarget(
            name: "FuzzLegacyHandshake", dependencies: ["FuzzSupport", "RelayProtocol"], path: "Fuzz/FuzzLegacyHandshake"
        ),

        // MARK: Tests
        .testTarget(
            name: "RelayCryptoTests",
            dependencies: ["RelayCrypto"],
            // Interop/peer.py is run by the tests from the source tree, not bundled.
            exclude: ["Interop/peer.py"],
            // The contract's vector files, copied here so that tests never read ../shared.
            resources: [.copy("Vectors")]
        ),
        .testTarget(name: "RelayProtocolTests", dependencies: ["RelayProtocol"]),
        .testTarget(name: "RelayIOTests", dependencies: ["RelayIO"]),
        .testTarget(name: "RelayClientTests", dependencies: ["RelayClient"]),
        .testTarget(name: "BenchmarkSupportTests", dependencies: ["BenchmarkSupport"]),
        .testTarget(
            name: "RelayServerTests",
            dependencies: ["RelayServer", "RelayProtocol", "RelayCrypto"]
        ),
    ]
)
