import APCore
import Foundation

/// Keeps a state file up to date with a running host: every change is
/// saved before the write() (or control request) that made it returns.
///
/// The state a change left is taken while the host is still locked (an
/// ordered observer, so saves follow the order of changes); it is written
/// once the lock is released, by the thread that made the change, before
/// that thread goes back to its caller. Writers that change the host
/// together share a save: each one returns once a save that includes its
/// change is on disk.
///
/// A save that fails (no space, read-only file system, directory gone)
/// never fails the write that caused it: the kernel would not. It is
/// reported (once per distinct failure, and again when saving works
/// again), the host goes on serving, and the next change saves everything.
public final class StatePersister: @unchecked Sendable {
    public let file: StateFile
    private let hostName: String
    private let topology: TopologyIdentity
    /// Where reports go (stderr).
    private let report: @Sendable (String) -> Void

    /// What chmod/chown set on the tree's nodes, asked at each save.
    public var nodeAttributes: @Sendable () -> [NodeAttributes] = { [] }

    // Staged under `stagingLock` (taken with the host lock held).
    private let stagingLock = NSLock()
    private var staged: HostState?
    private var stagedSurroundings = SurroundingState()
    private var stagedGeneration: UInt64 = 0
    private var dirtyQueues = Set<APQN>()
    private var dirtyAdapters = Set<Int>()
    private var dirtyEverything = true

    // Written under `writeLock` (never taken with the host lock held).
    private let writeLock = NSLock()
    private let encoder = SnapshotEncoder()
    private var savedGeneration: UInt64 = 0
    /// The file's save counter (header `generation`).
    private var generation: UInt64
    private var failure: String?

    /// `generation` is the restored file's (0 for a new file).
    public init(file: StateFile, hostName: String, topology: TopologyIdentity, generation: UInt64 = 0,
                report: @escaping @Sendable (String) -> Void) {
        self.file = file
        self.hostName = hostName
        self.topology = topology
        self.generation = generation
        self.report = report
    }

    /// Follows `host` from now on; `surroundings` is asked with the host
    /// locked, right after each change (migration states, SEQNUM). Saves
    /// once at once: an error then is the caller's (the host should not
    /// start without its state file).
    public func attach(to host: S390Host, surroundings: @escaping @Sendable () -> SurroundingState) throws {
        host.observeInOrder { [weak self] changes, state in self?.stage(state, changes, surroundings()) }
        host.observe { [weak self] _ in self?.save() }
        host.read { s in stage(s, [], surroundings()) }
        if let error = save(reporting: false) { throw error }
    }

    /// A chmod/chown changed a node: saved before it returns.
    public func nodeAttributesChanged() {
        stagingLock.lock()
        stagedGeneration += 1
        stagingLock.unlock()
        save()
    }

    /// The host stops: a save that failed last time is tried once more.
    public func finish() { save() }

    /// With the host locked: the state `changes` left.
    private func stage(_ s: HostState, _ changes: [ModelChange], _ surroundings: SurroundingState) {
        stagingLock.lock()
        defer { stagingLock.unlock() }
        staged = s
        stagedSurroundings = surroundings
        stagedGeneration += 1
        guard !dirtyEverything else { return }
        for change in changes {
            switch change {
            case .queue(let q), .queueBinding(let q), .queueAdded(let q), .queueRemoved(let q):
                dirtyQueues.insert(q)
            case .card(let id), .cardBinding(let id), .cardAdded(let id), .cardRemoved(let id):
                // A card's change may touch its queues (config, online).
                dirtyAdapters.insert(id)
                for d in 0..<APMask.bitCount { dirtyQueues.insert(APQN(card: id, domain: d)) }
            default:
                break
            }
        }
    }

    /// Writes the newest staged state unless a save already holds it; nil
    /// when the file holds it on return.
    @discardableResult
    private func save(reporting: Bool = true) -> StateFileError? {
        writeLock.lock()
        defer { writeLock.unlock() }
        stagingLock.lock()
        let target = stagedGeneration
        guard target != savedGeneration, let state = staged else {
            stagingLock.unlock()
            return nil
        }
        let surroundings = stagedSurroundings
        let dirty: SnapshotEncoder.Dirty = dirtyEverything ? .everything : .objects(queues: dirtyQueues, adapters: dirtyAdapters)
        dirtyQueues = []
        dirtyAdapters = []
        dirtyEverything = false
        stagingLock.unlock()

        let failed: StateFileError
        do {
            let payload: [UInt8]
            do {
                payload = try encoder.payload(state, dirty: dirty, nodes: nodeAttributes(), surroundings: surroundings)
            } catch {
                // The encoder's caches may be half updated: start over next time.
                stagingLock.lock()
                dirtyEverything = true
                stagingLock.unlock()
                throw StateFileError(file.path, .cannotWrite("cannot encode the state: \(error)"))
            }
            let header = StateFileHeader(host: hostName, generation: generation + 1, topology: topology,
                                         payload: .init(bytes: payload.count, crc32: CRC32.text(CRC32.checksum(payload))))
            try file.replace(with: try StateFile.contents(header, payload: payload))
            generation += 1
            savedGeneration = target
            if failure != nil {
                failure = nil
                report("the host's state is saved to \(file.path) again")
            }
            return nil
        } catch let e as StateFileError {
            failed = e
        } catch {
            failed = StateFileError(file.path, .cannotWrite("\(error)"))
        }
        let message = failed.description
        if reporting && message != failure {
            failure = message
            report("\(message); the host goes on serving, and saves again at its next change")
        }
        return failed
    }
}
