import ArgumentParser

/// The command line: the table of contents of what vfio-ap-sim does.
@main
struct VfioApSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfio-ap-sim",
        abstract: "An emulated s390 host: /sys/bus/ap, /sys/devices/ap and the vfio_ap matrix device over FUSE.",
        discussion: """
            Serves the sysfs interface of an s390 host running the vfio_ap live guest \
            migration series, byte for byte and errno for errno, so that shell scripts, \
            mdevctl and libvirt can be tested on any Linux machine.
            """,
        subcommands: [MountCommand.self, ExecCommand.self, GuestCommand.self, MigrateCommand.self,
                      MigrationCommand.self, TopologyCommand.self, HardwareCommand.self, ShowCommand.self, DmesgCommand.self, EventsCommand.self, ExecInnerCommand.self,
                      EngineBenchCommand.self])

    /// `exec` first, read without ArgumentParser where it is one of the
    /// plain forms (ExecArguments.quick): a test suite starts a host per
    /// test case. Everything else goes the usual way, so help, usage and
    /// errors read as they always do.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "exec", let exec = ExecArguments.quick(Array(arguments.dropFirst())) {
            exec.run()
        }
        main(nil)
    }
}
