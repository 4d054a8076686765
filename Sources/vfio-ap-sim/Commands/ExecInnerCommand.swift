import ArgumentParser

/// `exec`'s namespace side when exec could not enter the namespace itself
/// (a thread was running already): util-linux unshare makes the namespace
/// and runs this, which continues as exec would have (ExecSession).
struct ExecInnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__exec-inner", abstract: "(internal) the namespace side of exec.", shouldDisplay: false)

    @OptionGroup var topologyOptions: TopologyOptions
    @OptionGroup var stateOptions: StateOptions
    @Option var name: String?
    @Option var sys: SysLayout = .overlay
    @Flag var hostNetwork = false
    @Option var kernelCache: KernelCacheMode = .names
    /// Attach to the running host at this control socket instead of booting one.
    @Option var attach: String?
    /// With --attach: the host's emulated tree.
    @Option var tree: String?
    /// exec's own mount namespace (`mnt:[N]`), which this one must differ from.
    @Option var outerNamespace: String
    @Argument(parsing: .postTerminator) var command: [String] = []

    func run() throws {
        let session = ExecSession(topologyOptions: topologyOptions, state: stateOptions.state, name: name, sys: sys,
                                  hostNetwork: hostNetwork, kernelCache: kernelCache,
                                  attach: attach.flatMap { socket in tree.map { (socket, $0) } },
                                  command: ExecCommand.strip(command))
        session.run(outerNamespace: outerNamespace)
    }
}
