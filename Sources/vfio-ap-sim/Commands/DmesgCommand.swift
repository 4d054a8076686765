import ArgumentParser
import Foundation

struct DmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmesg",
        abstract: "Print the kernel log of a running emulated host.")

    @OptionGroup var target: HostTarget

    func run() throws { try request(target, ["dmesg"]) }
}
