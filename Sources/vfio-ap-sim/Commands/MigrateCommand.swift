import ArgumentParser
import Foundation
import VFIOMigration

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Live-migrate a running guest between two emulated hosts, as libvirt and QEMU do.",
        discussion: """
            libvirt's checks come first (the destination needs an mdev with the same UUID; \
            the source device must not block migration), then QEMU's sequence: data size \
            while RUNNING; source RUNNING->STOP->STOP_COPY, read to EOF, ->STOP; destination \
            ->RESUMING, write in chunks, ->STOP->RUNNING. On success the guest runs on the \
            destination and is gone from the source (exit 0). On failure the guest keeps \
            running on the source, virsh's console line goes to stderr, the QEMU and kernel \
            log lines to stdout, and the exit status is 1.
            """)

    @Option(name: .long, help: "The source host's name.") var from: String
    @Option(name: .long, help: "The destination host's name.") var to: String
    @Option(name: .long, help: "The guest to migrate.") var guest: String
    @Option(name: .long, help: "Bytes per write() into the destination's data fd.") var chunk: Int = 32 * 1024
    @Option(name: .long, help: ArgumentHelp("Where control sockets live.", valueName: "dir")) var runtimeDir: String?

    func run() throws {
        let sockets: (String, String)
        do {
            let dir = try ControlPaths.runtimeDirectory(runtimeDir)
            try dir.checkForClient()
            sockets = (try ControlPaths.socket(host: from, directory: dir.path, source: "--from"),
                       try ControlPaths.socket(host: to, directory: dir.path, source: "--to"))
        } catch { fail("\(error)") }
        let source = RemotePeer(hostName: from, client: ControlClient(socket: sockets.0))
        let destination = RemotePeer(hostName: to, client: ControlClient(socket: sockets.1))
        for peer in [source, destination] where (try? peer.client.send("name")) == nil {
            fail("host '\(peer.hostName)' is not running (no answer on \(peer.client.socket))")
        }
        var migration = LiveMigration(source: source, destination: destination, guest: guest)
        migration.chunkSize = max(chunk, 1)
        migration.libvirtPID = getpid()
        let outcome: LiveMigration.Outcome
        do { outcome = try migration.run() } catch { fail(describe(error)) }
        if outcome.succeeded {
            print("Migration of guest '\(guest)' from '\(from)' to '\(to)' completed")
            return
        }
        func section(_ title: String, _ lines: [String]) {
            guard !lines.isEmpty else { return }
            print("== \(title)")
            lines.forEach { print($0) }
        }
        section("source host '\(from)' QEMU log", outcome.sourceQEMULog)
        section("destination host '\(to)' kernel log", outcome.destinationKernelLog)
        section("destination host '\(to)' QEMU log", outcome.destinationQEMULog)
        fflush(stdout)
        FileHandle.standardError.write((outcome.console.joined(separator: "\n") + "\n").data(using: .utf8)!)
        throw ExitCode(1)
    }
}
