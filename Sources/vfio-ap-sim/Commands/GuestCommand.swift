import ArgumentParser
import Foundation

struct GuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest",
        abstract: "Simulated KVM guests: start one with an mdev (the VFIO open), stop it, look at it.",
        subcommands: [Start.self, Stop.self, List.self, Show.self, Info.self, Log.self, Pause.self, Resume.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start a guest with an mdev (VFIO open: EPERM for a second mdev on one guest).")
        @OptionGroup var target: HostTarget
        @Flag(name: .long, help: "Ignore device requests: `echo 1 > remove` then blocks until the guest stops.")
        var ignoreRequests = false
        @Option(name: .long, help: "QEMU's enable-migration for the vfio-ap device: on, off or auto.")
        var migration: String = "auto"
        @Flag(name: .long, help: "Start paused (as QEMU -S).")
        var paused = false
        @Argument(help: "The guest's name.") var name: String
        @Argument(help: "The mdev UUID(s) to pass through.") var mdevs: [String]

        func run() throws {
            var words = ["guest", "start", name] + mdevs + ["--migration", migration]
            if ignoreRequests { words.append("--ignore-requests") }
            if paused { words.append("--paused") }
            try request(target, words)
        }
    }

    struct Stop: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a guest (its mdev is closed: masks cleared, queues reset).")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "stop", name] }
    }

    struct List: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the guests: name, state, mdev.")
        @OptionGroup var target: HostTarget
        var requestWords: [String] { ["guest", "list"] }
    }

    struct Show: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "What the guest sees: its APM/AQM/ADM and its AP queues (lszcrypt-like).")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "show", name] }
    }

    struct Info: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "The guest's mdev, its enable-migration setting and whether it runs or is paused.")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "info", name] }
    }

    struct Log: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "The guest's QEMU log.")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "log", name] }
    }

    struct Pause: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause the guest (its migratable device goes to STOP).")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "pause", name] }
    }

    struct Resume: HostRequestCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume the guest (its migratable device goes to RUNNING).")
        @OptionGroup var target: HostTarget
        @Argument var name: String
        var requestWords: [String] { ["guest", "resume", name] }
    }
}
