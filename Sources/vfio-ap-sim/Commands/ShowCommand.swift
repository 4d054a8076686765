import APCore
import ArgumentParser
import Foundation
import MatrixPicture

/// `vfio-ap-sim show`: the AP matrix of a host as a picture (adapters x
/// domains, who owns each queue). A running host answers the `show`
/// request with the picture as JSON; this command draws it.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw the host's AP matrix: adapters as rows, domains as columns, who owns each queue.",
        discussion: """
            Each cell says who has the queue: the host's driver (host), vfio_ap with no mdev (vfio), \
            an mdev by letter (A; A* in use by its guest; A- filtered out of its guest_matrix; (A) \
            assigned with no queue device), or no queue device (.); /off, /dcf and /chk mark an \
            offline, deconfigured or checkstopped queue. A legend maps letters to mdev UUIDs and \
            guests. Hosts of more than 16 adapters or domains are condensed: alike neighbours \
            become ranges. With --topology (or with no host named and no $VFIO_AP_SIM_HOST) a \
            freshly booted host of the topology is drawn, without mounting anything.
            """)

    enum ColourChoice: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

    @Option(name: .long, help: ArgumentHelp("The running host to draw, by name. Default: $VFIO_AP_SIM_HOST (set inside `exec`).", valueName: "name"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Where control sockets live (default: $VFIO_AP_SIM_RUNTIME_DIR, /run/vfio-ap-sim as root).", valueName: "dir"))
    var runtimeDir: String?

    @Option(name: .long, help: ArgumentHelp("Draw a freshly booted host of this topology (YAML or JSON) instead of a running host.", valueName: "file"))
    var topology: String?

    @Flag(name: .long, help: "Print the picture as JSON (every cell, never condensed) for scripts.")
    var json = false

    @Option(name: .long, help: "Colour the cells: auto (when stdout is a terminal and NO_COLOR is unset), always or never.")
    var color: ColourChoice = .auto

    @Option(name: .long, help: "Merge alike neighbouring adapters and domains into ranges: auto (beyond 16 of either), always or never.")
    var condense: TextRenderer.Condensing = .auto

    func validate() throws {
        if topology != nil && host != nil { throw ValidationError("--host and --topology exclude each other: draw a running host or a topology") }
    }

    func run() throws {
        let picture: MatrixPicture
        do {
            picture = try load()
        } catch {
            // A refusal, an unreachable host or a bad topology: one line, status 1.
            fail("\(error)")
        }
        if json {
            FileHandle.standardOutput.write(Data(PictureJSON.encode(picture).utf8))
            return
        }
        let text = TextRenderer(colour: useColour, condensing: condense).render(picture)
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// From the running host's `show` request, or a host booted here.
    func load() throws -> MatrixPicture {
        let env = ProcessInfo.processInfo.environment
        if topology == nil && (host != nil || env[ControlPaths.hostVariable].map({ !$0.isEmpty }) == true) {
            // HostTarget resolves and checks the runtime directory and the name
            // as every other command does; parsed from words, it is made whole.
            let target = try HostTarget.parse((host.map { ["--host", $0] } ?? []) + (runtimeDir.map { ["--runtime-dir", $0] } ?? []))
            let reply = try ControlClient(socket: try target.socketPath()).send("show")
            do { return try PictureJSON.decode(reply) } catch { throw UserError("\(error)") }
        }
        var options = try TopologyOptions.parse([])
        options.topology = topology
        let booted = try options.boot(name: nil)
        defer { booted.shutdown() }
        return booted.read { MatrixPicture($0, name: booted.name) }
    }

    /// ANSI colour only for a terminal, and never with NO_COLOR set (no-color.org).
    var useColour: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            let noColour = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
            return !noColour && isatty(STDOUT_FILENO) == 1
        }
    }
}

extension TextRenderer.Condensing: ExpressibleByArgument {}
