import APCore
import Foundation

/// Reads a payload that `SnapshotEncoder` wrote back into a snapshot.
enum SnapshotDecoder {
    /// The payload's sections as JSON has them.
    private struct Document: Decodable {
        var state: HostState
        var adapters: [Adapter]
        var queueTemplates: [Int: Queue]
        var queues: [APQN: Int]
        var mdevs: [MediatedDevice]
        var logEntries: [KernelLog.Entry]
        var nodeAttributes: [NodeAttributes]
        var migrationStates: [String: UInt32]
        var ueventSeqnum: UInt64
    }

    /// Why a payload does not decode (`StateFileError.Problem.undecodable`).
    struct Failure: Error {
        var reason: String
    }

    static func decode(_ payload: [UInt8]) -> Result<StateSnapshot, Failure> {
        let d: Document
        do {
            d = try JSONDecoder().decode(Document.self, from: Data(payload))
        } catch let DecodingError.dataCorrupted(c) {
            return .failure(Failure(reason: describe(c)))
        } catch let DecodingError.keyNotFound(key, c) {
            return .failure(Failure(reason: "\(path(c.codingPath + [key])): missing"))
        } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
            return .failure(Failure(reason: describe(c)))
        } catch {
            return .failure(Failure(reason: "\(error)"))
        }
        var s = d.state
        for a in d.adapters {
            guard s.adapters[a.id] == nil else { return .failure(Failure(reason: "adapters: adapter \(a.id) is listed twice")) }
            s.adapters[a.id] = a
        }
        var queues: [APQN: Queue] = [:]
        queues.reserveCapacity(d.queues.count)
        for (q, t) in d.queues {
            guard var queue = d.queueTemplates[t] else { return .failure(Failure(reason: "queues.\(q): no template \(t)")) }
            queue.apqn = q
            queues[q] = queue
        }
        s.queues = queues
        s.mdevs = MediatedDeviceList(d.mdevs)
        s.log = KernelLog(entries: d.logEntries, dropped: s.log.dropped, capacity: s.log.capacity)
        return .success(StateSnapshot(host: s, nodeAttributes: d.nodeAttributes, migrationStates: d.migrationStates,
                                      ueventSeqnum: d.ueventSeqnum))
    }

    private static func describe(_ c: DecodingError.Context) -> String {
        c.codingPath.isEmpty ? c.debugDescription : "\(path(c.codingPath)): \(c.debugDescription)"
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }
}
