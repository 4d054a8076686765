import APCore
import ArgumentParser
import Foundation

/// `--topology FILE`, shared by the commands that boot a host.
struct TopologyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The host description (YAML or JSON). Default: the embedded vfio-ap.rst example host (see `vfio-ap-sim topology`).", valueName: "file"))
    var topology: String?

    /// Reads and decodes the topology; a bad file names the file, field and value.
    func load() throws -> Topology {
        guard let path = topology else { return try DefaultTopology.load() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyError(file: path, field: "", message: "cannot read the file")
        }
        return try TopologyDecoder(file: path).decode(String(decoding: data, as: UTF8.self))
    }

    func boot(name: String?) throws -> S390Host {
        try boot(try load(), name: name)
    }

    func boot(_ t: Topology, name: String?) throws -> S390Host {
        try HostBuilder.build(t, file: topology ?? "(embedded) default.yaml", name: name)
    }
}

/// Errors shown to the user as one line, exit status 1.
struct UserError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("vfio-ap-sim: " + message + "\n").data(using: .utf8)!)
    Foundation.exit(1)
}
