import APCore
import Dispatch
import Foundation

/// The event plane of one host: model changes in, uevent records out, to
/// every attached sink, in SEQNUM order. Records are made with the host lock
/// held (the state is the one the change left) and sent from one serial
/// queue, so a slow listener never holds up a sysfs write.
public final class EventHub: @unchecked Sendable {
    private var builder = UeventBuilder()
    private let lock = NSLock()
    private var sinks: [Int: NetlinkSink] = [:]
    private var nextSinkID = 0
    private let queue = DispatchQueue(label: "vfio-ap-sim.events")
    /// Every record made, for tests and `vfio-ap-sim` introspection.
    public private(set) var history: [UeventRecord] = []
    private let historyLimit = 10_000

    /// `seqnum`: the last SEQNUM the host handed out (0 at boot; a resumed
    /// host's state file keeps it).
    public init(host: S390Host, seqnum: UInt64 = 0) {
        builder = UeventBuilder(seqnum: seqnum)
        host.observeInOrder { [weak self] changes, state in
            self?.take(changes, state)
        }
    }

    /// Adds a sink; the returned id removes it again.
    @discardableResult
    public func attach(_ sink: NetlinkSink) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextSinkID += 1
        sinks[nextSinkID] = sink
        return nextSinkID
    }

    public func detach(_ id: Int) {
        lock.lock()
        sinks[id] = nil
        lock.unlock()
    }

    /// The last SEQNUM handed out. Read in an ordered observer registered
    /// after this hub, it is the one the same change left.
    public var seqnum: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return builder.seqnum
    }

    /// Waits until everything made so far has been handed to the sinks.
    public func flush() { queue.sync {} }

    private func take(_ changes: [ModelChange], _ state: HostState) {
        lock.lock()
        let records = builder.records(for: changes, in: state)
        guard !records.isEmpty else { lock.unlock(); return }
        history += records
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
        let targets = sinks
        lock.unlock()
        let usec = DispatchTime.now().uptimeNanoseconds / 1000
        queue.async { [weak self] in
            for r in records {
                let message = UdevMessage.encode(r, usecInitialized: usec)
                for (id, sink) in targets where !sink.send(message) { self?.detach(id) }
            }
        }
    }
}
