import APCore
import Foundation
import TestSupport

/// Hosts of the shipped topologies, booted without a mount.
enum Hosts {
    static let uuid = "62177883-f1bb-47f0-914d-32a22e3a8804"

    static func topology(_ name: String) throws -> S390Host {
        let path = Paths.topology(name)
        return try makeHost(try String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    static func `default`() throws -> S390Host {
        try makeHost(DefaultTopology.text, file: "default.yaml")
    }

    /// migration-source.yaml with guest g1 holding its mdev.
    static func sourceWithGuest() throws -> S390Host {
        let host = try topology("migration-source.yaml")
        try host.update { s in
            try s.addGuest(Guest(name: "g1"))
            try s.openMdev(uuid, guest: "g1")
        }
        return host
    }
}
