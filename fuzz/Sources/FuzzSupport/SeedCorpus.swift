import Foundation

/// Seed inputs a harness derives from the shipped data (topologies, a real
/// save stream, the documented procedures): written into `$FUZZ_SEED_DIR`
/// when fuzz/run.sh sets it, so the seeds always match the current code.
public enum SeedCorpus {
    public static var directory: String? {
        guard let d = ProcessInfo.processInfo.environment["FUZZ_SEED_DIR"], !d.isEmpty else { return nil }
        return d
    }

    /// Writes one seed named `name` (kept if it exists with the same bytes).
    public static func write(_ name: String, _ bytes: [UInt8]) {
        guard let dir = directory else { return }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/seed-" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
