import Foundation
import SystemPackage

/// One emulated s390 host. All access goes through one lock, as the kernel's
/// `matrix_dev->mdevs_lock` (with `ap_attr_mutex`) serialises sysfs writes;
/// after each change the observers learn which objects changed.
public final class S390Host: @unchecked Sendable {
    public let name: String
    private let lock = NSLock()
    private var state: HostState
    /// Counts the updates that changed something (under the lock): what
    /// was derived from the state stays right while it stands still.
    private var generation: UInt64 = 0
    /// When the host booted, as a DispatchTime uptime value; a host resumed
    /// from a state file "booted" `uptime` before it started (which may lie
    /// before this machine's boot, hence the wrapping arithmetic).
    private let bootTime: UInt64
    private var observers: [@Sendable ([ModelChange]) -> Void] = []
    /// Called with the lock held, with every change in order and the state it left.
    private var orderedObservers: [@Sendable ([ModelChange], HostState) -> Void] = []
    private let observerLock = NSLock()
    /// Signalled after every update, for writers waiting on a guest.
    private let changed = NSCondition()
    /// Who relays a device request to the guest holding an mdev (the VFIO
    /// request eventfd QEMU registers). Called without the lock held.
    public var deviceRequestHandler: (@Sendable (_ uuid: String, _ count: Int) -> Void)?
    /// How long `vfio_unregister_group_dev` waits between requests (10 s).
    public var deviceRequestInterval: TimeInterval = 10
    /// Set when the emulated host goes away: blocked writers give up.
    private var shuttingDown = false
    private let scanTimer = BusScanTimer()

    /// Ends every wait of a blocked writer (their writes fail ENODEV, as for
    /// a device that disappears); called before the file system stops.
    public func shutdown() {
        changed.lock()
        shuttingDown = true
        changed.broadcast()
        changed.unlock()
        scanTimer.cancel()
    }

    /// `uptime` is where the host's clock starts (nanoseconds since boot):
    /// 0 for a host that boots now, the saved `now` for one resumed from a
    /// state file, whose kernel log and timers go on from there.
    public init(name: String, state: HostState, uptime: UInt64 = 0) {
        self.name = name
        self.state = state
        let boot = DispatchTime.now().uptimeNanoseconds &- uptime
        bootTime = boot
        self.state.now = max(state.now, uptime)
        self.state.clock = { DispatchTime.now().uptimeNanoseconds &- boot }
        armScanTimer(at: state.bus.nextScanAt)
    }

    /// ap_scan_bus_timer: when it fires, one bus scan (which re-arms it).
    private func armScanTimer(at deadline: UInt64) {
        scanTimer.arm(at: deadline, boot: bootTime) { [weak self] in
            guard let self, !self.isShuttingDown else { return }
            self.update { $0.rescanBus() }
        }
    }

    private var isShuttingDown: Bool {
        changed.lock()
        defer { changed.unlock() }
        return shuttingDown
    }

    /// Reads the state under the lock.
    public func read<T>(_ body: (HostState) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(state)
    }

    /// Reads the state under the lock with its generation, which changes
    /// with every update that recorded a change.
    public func readWithGeneration<T>(_ body: (HostState, UInt64) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(state, generation)
    }

    /// The current generation (see `readWithGeneration`).
    public var currentGeneration: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return generation
    }

    /// Changes the state under the lock; the recorded changes are delivered to
    /// the observers after the lock is released, whether `body` succeeded or not
    /// (a refused write may still have logged).
    @discardableResult
    public func update<T>(_ body: (inout HostState) throws -> T) rethrows -> T {
        lock.lock()
        state.now = DispatchTime.now().uptimeNanoseconds &- bootTime
        defer {
            // ap_check_bindings_complete: counts each time all queues are
            // bound again; only a binding change can change that, so the
            // O(queues) count runs only then.
            if state.changes.contains(where: { if case .queueBinding = $0 { return true } else { return false } }) {
                let complete = state.bindingsComplete
                if complete && !state.bus.bindingsWereComplete {
                    state.bus.bindingsCompleteCount += 1
                    state.record(.busAttributes)
                    // ap_send_bindings_complete_uevent.
                    state.record(.announced(.change(.apRoot, ["BINDINGS=complete",
                                                               "COMPLETECOUNT=\(state.bus.bindingsCompleteCount)"])))
                }
                state.bus.bindingsWereComplete = complete
            }
            let changes = state.changes
            state.changes.removeAll(keepingCapacity: true)
            if !changes.isEmpty { generation &+= 1 }
            if !changes.isEmpty { for o in orderedObservers { o(changes, state) } }
            let nextScan = state.bus.nextScanAt
            lock.unlock()
            armScanTimer(at: nextScan)
            if !changes.isEmpty { notify(changes) }
            changed.lock()
            changed.broadcast()
            changed.unlock()
        }
        return try body(&state)
    }

    /// `echo 1 > remove`: mdev_device_remove → vfio_ap_mdev_remove →
    /// `vfio_unregister_group_dev`, which blocks while a guest has the mdev
    /// open, relaying a device request at once and every 10 seconds after.
    /// The first wait is interruptible: a signal for the writer (`task`)
    /// logs that it is blocked, a request goes out again, and from then on
    /// the writer waits uninterruptibly (a killed writer stays until the
    /// device is released).
    public func removeMdev(uuid: String, task: WritingTask? = nil) throws {
        var count = 0
        var interrupted = false
        while true {
            let held = try update { s -> Bool in
                guard let i = s.mdevIndex(uuid: uuid) else { throw Errno.noDevice }
                guard s.mdevs[i].guest != nil else {
                    try s.removeMdev(uuid: uuid)
                    return false
                }
                s.relayDeviceRequest(uuid, count: count)
                return true
            }
            guard held else { return }
            deviceRequestHandler?(uuid, count)
            count += 1
            let deadline = Date().addingTimeInterval(deviceRequestInterval)
            let watched = interrupted ? nil : task
            var signalled = false
            changed.lock()
            while !shuttingDown, read({ s in s.mdevIndex(uuid: uuid).map { s.mdevs[$0].guest != nil } ?? false }),
                  Date() < deadline {
                if let watched, watched.signalPending() {
                    signalled = true
                    break
                }
                // A signal is a flag to look at, not a wake-up: while one
                // may come, look every 100 ms.
                _ = changed.wait(until: watched == nil ? deadline : min(deadline, Date().addingTimeInterval(0.1)))
            }
            let giveUp = shuttingDown
            changed.unlock()
            if giveUp { throw Errno.noDevice }
            if signalled, let task {
                interrupted = true
                update {
                    $0.logMdev(.warning, uuid, "Device is currently in use, task \"\(task.command())\" (\(task.pid)) blocked until device is released")
                }
            }
        }
    }

    /// Registers an observer of model changes (cache invalidation, uevents).
    public func observe(_ observer: @escaping @Sendable ([ModelChange]) -> Void) {
        observerLock.lock()
        observers.append(observer)
        observerLock.unlock()
    }

    /// Registers an observer that sees every change in the order it was
    /// made, with the state right after it, while the host is still locked
    /// (the event plane: uevents in kernel order with the kernel's
    /// environment). It must be quick and must not call back into the host.
    public func observeInOrder(_ observer: @escaping @Sendable ([ModelChange], HostState) -> Void) {
        lock.lock()
        orderedObservers.append(observer)
        lock.unlock()
    }

    private func notify(_ changes: [ModelChange]) {
        observerLock.lock()
        let current = observers
        observerLock.unlock()
        var seen = Set<ModelChange>()
        let unique = changes.filter { seen.insert($0).inserted }
        for o in current { o(unique) }
    }

    /// The kernel log as `dmesg` prints it.
    public func dmesg() -> String {
        read { s in s.log.entries.map { KernelLog.render($0) + "\n" }.joined() }
    }
}

extension HostState {
    /// Every queue device has a driver and at least one scan ran.
    public var bindingsComplete: Bool {
        let c = bindingCounts
        return bus.scans > 0 && c.bound == c.total
    }
}
