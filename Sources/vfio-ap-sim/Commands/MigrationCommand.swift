import APCore
import ArgumentParser
import Foundation
import SystemPackage
import VFIOMigration

struct MigrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migration",
        abstract: "Drive the VFIO migration protocol of an open mdev yourself, step by step.",
        discussion: """
            The mdev must be open (a guest started with it). States are the uAPI names \
            (RUNNING, STOP, STOP_COPY, RESUMING, ...) or numbers; a transition walks the \
            kernel's next-state table. The data fd a transition opens is kept by the host \
            until `close-fd` or the next one.
            """,
        subcommands: [GetState.self, SetState.self, DataSize.self, Flags.self, Save.self, Resume.self,
                      CloseFD.self, Decode.self])

    struct GetState: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "get-state", abstract: "Print the device's migration state.")
        @OptionGroup var target: HostTarget
        @Argument var uuid: String
        var requestWords: [String] { ["mdev", "state", uuid] }
    }

    struct SetState: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-state",
            abstract: "Request a migration state; prints the state reached and `data_fd` when a stream was opened.")
        @OptionGroup var target: HostTarget
        @Argument var uuid: String
        @Argument var state: String
        var requestWords: [String] { ["mdev", "set-state", uuid, state] }
    }

    struct DataSize: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "data-size", abstract: "Print stop_copy_length (8 + 16 per APQN of the guest matrix).")
        @OptionGroup var target: HostTarget
        @Argument var uuid: String
        var requestWords: [String] { ["mdev", "data-size", uuid] }
    }

    struct Flags: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "flags", abstract: "Print the migration flags (1 = STOP_COPY).")
        @OptionGroup var target: HostTarget
        @Argument var uuid: String
        var requestWords: [String] { ["mdev", "flags", uuid] }
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "save",
            abstract: "Read the open save stream (after set-state STOP_COPY) to EOF into FILE.")
        @OptionGroup var target: HostTarget
        @Option(name: .long, help: "Bytes per read().") var chunk: Int = 1 << 20
        @Option(name: .long, help: "Read with pread() at this offset (the stream is not seekable: ESPIPE).")
        var offset: Int?
        @Argument var uuid: String
        @Argument var file: String
        func run() throws {
            let peer = RemotePeer(hostName: "", client: ControlClient(socket: try target.socketPath()))
            var data: [UInt8] = []
            do {
                while true {
                    let part = try peer.read(uuid, count: chunk, offset: offset)
                    if part.isEmpty { break }
                    data += part
                }
            } catch { fail(describe(error)) }
            guard FileManager.default.createFile(atPath: file, contents: Data(data)) else { fail("cannot write \(file)") }
            print("\(data.count) bytes saved to \(file)")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Write FILE into the open resume stream (after set-state RESUMING), CHUNK bytes per write().")
        @OptionGroup var target: HostTarget
        @Option(name: .long, help: "Bytes per write() (the driver must take any split).") var chunk: Int = 32 * 1024
        @Option(name: .long, help: "Write with pwrite() at this offset (the stream is not seekable: ESPIPE).")
        var offset: Int?
        @Argument var uuid: String
        @Argument var file: String
        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
            let peer = RemotePeer(hostName: "", client: ControlClient(socket: try target.socketPath()))
            let bytes = [UInt8](data)
            var offset = 0
            do {
                while offset < bytes.count {
                    let end = min(bytes.count, offset + max(chunk, 1))
                    offset += try peer.write(uuid, Array(bytes[offset..<end]), offset: self.offset)
                }
            } catch { fail("write at offset \(offset): \(describe(error))") }
            print("\(offset) bytes written")
        }
    }

    struct CloseFD: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "close-fd", abstract: "Close the data fd the host keeps for the mdev.")
        @OptionGroup var target: HostTarget
        @Argument var uuid: String
        var requestWords: [String] { ["mdev", "close-fd", uuid] }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "decode", abstract: "Print a saved stream as readable lines.")
        @Argument var file: String
        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
            guard let stream = APConfigStream.decode([UInt8](data)) else {
                fail("\(file): \(data.count) bytes is not a vfio_ap AP configuration stream")
            }
            print(StreamDescription.lines(stream).joined(separator: "\n"))
        }
    }
}

func describe(_ error: Error) -> String {
    if let e = error as? Errno { return e.kernelDescription }
    return "\(error)"
}
