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

    public init(host: S390Host) {
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
