import CFuse
import Foundation

/// The argv handed to `fuse_session_new`. libfuse may keep pointers into
/// it, so it lives as long as the session.
final class SessionArguments {
    let args: UnsafeMutablePointer<fuse_args>
    private let argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let argc: Int

    init(_ arguments: [String]) {
        argc = arguments.count
        argv = .allocate(capacity: argc + 1)
        for (i, argument) in arguments.enumerated() { argv[i] = strdup(argument) }
        argv[argc] = nil
        args = .allocate(capacity: 1)
        args.initialize(to: fuse_args(argc: Int32(argc), argv: argv, allocated: 0))
    }

    deinit {
        // fuse_opt_parse may have replaced argv with a copy it allocated.
        fuse_opt_free_args(args)
        args.deallocate()
        for i in 0..<argc { free(argv[i]) }
        argv.deallocate()
    }

    /// `-o` value escaping of fuse_opt: commas and backslashes.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,")
    }
}
