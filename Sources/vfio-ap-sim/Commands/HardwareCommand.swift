import ArgumentParser

/// `vfio-ap-sim hw`: what an HMC operator, SCLP or the hardware does to the
/// machine while the host runs. Each change is followed by the AP bus scan
/// the kernel's configuration-change notification triggers, unless
/// `--no-scan` leaves it to the kernel's next scan.
struct HardwareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hw",
        abstract: "Change the emulated machine at run time: its AP configuration, an adapter's SCLP state, a checkstop.",
        discussion: """
            IDs are decimal, or hexadecimal after 0x (0x06, 0xab). A change reaches the kernel \
            the way the machine's configuration-change notification makes it: one AP bus scan \
            (ap_scan_bus), with its device removals and additions, uevents and vfio_ap hot \
            (un)plug. With --no-scan the kernel sees it at its next scan (every config_time \
            seconds, `echo 1 > /sys/bus/ap/scans`, or `vfio-ap-sim hw scan`).
            """,
        subcommands: [Adapter.self, Domain.self, ControlDomain.self, Card.self, Scan.self, Show.self])

    enum AddRemove: String, ExpressibleByArgument, CaseIterable { case add, remove }
    enum CardAction: String, ExpressibleByArgument, CaseIterable { case configure, deconfigure, checkstop, clear }

    struct Adapter: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "adapter",
            abstract: "Add an adapter to the partition's AP configuration (QCI APM) or remove it.")
        @OptionGroup var target: HostTarget
        @Argument(help: "Add it to the configuration or remove it.") var action: AddRemove
        @Argument(help: "The adapter ID.") var id: String
        @Flag(name: .long, help: "Change the machine only; the kernel sees it at its next bus scan.") var noScan = false
        var requestWords: [String] { ["hw", "adapter", action.rawValue, id] + (noScan ? ["--no-scan"] : []) }
    }

    struct Domain: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "domain",
            abstract: "Add a usage domain to the partition's AP configuration (QCI AQM) or remove it.")
        @OptionGroup var target: HostTarget
        @Argument(help: "Add it to the configuration or remove it.") var action: AddRemove
        @Argument(help: "The domain ID.") var id: String
        @Flag(name: .long, help: "Change the machine only; the kernel sees it at its next bus scan.") var noScan = false
        var requestWords: [String] { ["hw", "domain", action.rawValue, id] + (noScan ? ["--no-scan"] : []) }
    }

    struct ControlDomain: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "control-domain",
            abstract: "Add a control domain to the partition's AP configuration (QCI ADM) or remove it.")
        @OptionGroup var target: HostTarget
        @Argument(help: "Add it to the configuration or remove it.") var action: AddRemove
        @Argument(help: "The domain ID.") var id: String
        @Flag(name: .long, help: "Change the machine only; the kernel sees it at its next bus scan.") var noScan = false
        var requestWords: [String] { ["hw", "control-domain", action.rawValue, id] + (noScan ? ["--no-scan"] : []) }
    }

    struct Card: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "card",
            abstract: "SCLP configure/deconfigure an adapter, or put it into checkstop and clear it.")
        @OptionGroup var target: HostTarget
        @Argument(help: "What happens to the adapter.") var action: CardAction
        @Argument(help: "The adapter ID.") var id: String
        @Flag(name: .long, help: "Change the machine only; the kernel sees it at its next bus scan.") var noScan = false
        var requestWords: [String] { ["hw", "card", action.rawValue, id] + (noScan ? ["--no-scan"] : []) }
    }

    struct Scan: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "scan",
            abstract: "The configuration-change notification: one AP bus scan (as `echo 1 > /sys/bus/ap/scans`).")
        @OptionGroup var target: HostTarget
        var requestWords: [String] { ["hw", "scan"] }
    }

    struct Show: HostRequestCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "What the machine answers now: the QCI masks, each adapter's state, whether a scan is pending.")
        @OptionGroup var target: HostTarget
        var requestWords: [String] { ["hw", "show"] }
    }
}
