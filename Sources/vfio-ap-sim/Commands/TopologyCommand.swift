import APCore
import ArgumentParser

struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Print the embedded default topology, to copy and edit.")

    func run() throws {
        print(DefaultTopology.text, terminator: "")
    }
}
