import APCore
import Foundation

/// Builds a state file's payload (JSON) from the host state, encoding again
/// only what changed since the last payload, so that a save after one
/// write costs about the same on a 65,536-queue host as on a small one.
///
/// The payload holds the host state with its four large collections taken
/// out and kept in sections of their own:
/// - `adapters`: one object per adapter, re-encoded when a change names it;
/// - `queueTemplates` and `queues`: queues are stored by value, each
///   distinct queue (its `apqn` set to `00.0000`) once as a template, and
///   every APQN names its template; thousands of identical queues cost a few
///   bytes each;
/// - `mdevs`: in creation order, each re-encoded when its value changed;
/// - `logEntries`: the kernel log's lines, each encoded once.
///
/// Which adapters and queues to look at again comes from the model changes
/// (`ModelChange` names every card and queue a rule touched, as cache
/// invalidation needs): `Dirty.everything` looks at all of them.
final class SnapshotEncoder {
    enum Dirty {
        case everything
        case objects(queues: Set<APQN>, adapters: Set<Int>)
    }

    private let json: JSONEncoder = {
        let e = JSONEncoder()
        // Sorted keys: equal values give equal text (dictionaries have no order).
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    private var adapterTexts: [Int: String] = [:]
    /// Each APQN's template, and per card its domains' templates.
    private var templateOfQueue: [APQN: Int] = [:]
    private var queuesOfCard: [Int: [Int: Int]] = [:]
    private var templateOfValue: [Queue: Int] = [:]
    private var valueOfTemplate: [Int: Queue] = [:]
    private var templateTexts: [Int: String] = [:]
    private var templateUses: [Int: Int] = [:]
    private var nextTemplate = 0
    /// `"cc.dddd":T,...` of each card's queues, in domain order.
    private var cardChunks: [Int: String] = [:]
    private var mdevTexts: [String: (value: MediatedDevice, text: String)] = [:]
    /// The encoded log lines from sequence number `logFirst` on.
    private var logTexts: [String] = []
    private var logFirst = 0

    /// The payload for `s`; `dirty` says which adapters and queues may differ
    /// from the previous call's state.
    func payload(_ s: HostState, dirty: Dirty, nodes: [NodeAttributes], surroundings: SurroundingState) throws -> [UInt8] {
        let queueKeys: Set<APQN>, adapterKeys: Set<Int>
        switch dirty {
        case .everything:
            queueKeys = Set(templateOfQueue.keys).union(s.queues.keys)
            adapterKeys = Set(adapterTexts.keys).union(s.adapters.keys)
        case .objects(let q, let a):
            (queueKeys, adapterKeys) = (q, a)
        }
        for id in adapterKeys { adapterTexts[id] = try s.adapters[id].map { try text($0) } }
        var changedCards = Set<Int>()
        for q in queueKeys where try updateQueue(q, s.queues[q]) { changedCards.insert(q.card) }
        for card in changedCards { renderCard(card) }

        var rest = s
        rest.adapters = [:]
        rest.queues = [:]
        rest.mdevs = []
        rest.log = s.log.withoutEntries
        rest.changes = []

        var out = "{\"state\":" + (try text(rest))
        out += ",\"adapters\":[" + adapterTexts.keys.sorted().map { adapterTexts[$0]! }.joined(separator: ",") + "]"
        out += ",\"queueTemplates\":{" + templateTexts.keys.sorted().map { "\"\($0)\":" + templateTexts[$0]! }.joined(separator: ",") + "}"
        out += ",\"queues\":{" + cardChunks.keys.sorted().map { cardChunks[$0]! }.joined(separator: ",") + "}"
        out += ",\"mdevs\":[" + (try mdevs(s.mdevs)).joined(separator: ",") + "]"
        out += ",\"logEntries\":[" + (try logLines(s.log)).joined(separator: ",") + "]"
        out += ",\"nodeAttributes\":" + (try text(nodes.sorted { $0.path < $1.path }))
        out += ",\"migrationStates\":" + (try text(surroundings.migrationStates))
        out += ",\"ueventSeqnum\":\(surroundings.ueventSeqnum)}"
        return Array(out.utf8)
    }

    private func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try json.encode(value), as: UTF8.self)
    }

    /// Points `q` at the template of its value (nil: no such queue any
    /// more); true when its card's chunk must be written again.
    private func updateQueue(_ q: APQN, _ queue: Queue?) throws -> Bool {
        let old = templateOfQueue[q]
        var new: Int?
        if var value = queue {
            value.apqn = APQN(card: 0, domain: 0)
            if let t = templateOfValue[value] {
                new = t
            } else {
                let t = nextTemplate
                nextTemplate += 1
                templateOfValue[value] = t
                valueOfTemplate[t] = value
                templateTexts[t] = try text(value)
                new = t
            }
        }
        guard old != new else { return false }
        if let new { templateUses[new, default: 0] += 1 }
        if let old { release(old) }
        templateOfQueue[q] = new
        queuesOfCard[q.card, default: [:]][q.domain] = new
        return true
    }

    private func release(_ template: Int) {
        let uses = (templateUses[template] ?? 1) - 1
        guard uses == 0 else { templateUses[template] = uses; return }
        templateUses[template] = nil
        templateTexts[template] = nil
        if let value = valueOfTemplate.removeValue(forKey: template) { templateOfValue[value] = nil }
    }

    private func renderCard(_ card: Int) {
        guard let domains = queuesOfCard[card], !domains.isEmpty else {
            queuesOfCard[card] = nil
            cardChunks[card] = nil
            return
        }
        cardChunks[card] = domains.keys.sorted().map { d in
            "\"\(KernelFormat.apqn(APQN(card: card, domain: d)))\":\(domains[d]!)"
        }.joined(separator: ",")
    }

    private func mdevs(_ list: MediatedDeviceList) throws -> [String] {
        var kept: [String: (value: MediatedDevice, text: String)] = [:]
        kept.reserveCapacity(list.count)
        let texts = try list.map { m -> String in
            let t: String
            if let cached = mdevTexts[m.uuid], cached.value == m { t = cached.text } else { t = try text(m) }
            kept[m.uuid] = (m, t)
            return t
        }
        mdevTexts = kept
        return texts
    }

    /// Lines are never changed once logged: each is encoded once, and the
    /// ones the ring dropped are dropped here too.
    private func logLines(_ log: KernelLog) throws -> [String] {
        let first = log.dropped, end = log.nextSequence
        if first < logFirst || logFirst + logTexts.count > end {
            logTexts = []
            logFirst = first
        }
        if first > logFirst {
            logTexts.removeFirst(min(first - logFirst, logTexts.count))
            logFirst = first
        }
        for seq in (logFirst + logTexts.count)..<end { logTexts.append(try text(log.entries[seq - first])) }
        return logTexts
    }
}
