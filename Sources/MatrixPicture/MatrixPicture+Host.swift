import APCore

extension MatrixPicture {
    /// The picture of a host state. Every cell is decided from what the
    /// sysfs files of the queue are derived from: the queue device and its
    /// driver (`driver` link), `config`, `chkstop`, zcrypt `online`, the
    /// mdevs' `matrix` and `guest_matrix`, and whether a guest has the mdev
    /// open (`status`: in use).
    public init(_ s: HostState, name: String) {
        let queueAdapters = Set(s.queues.keys.map(\.card))
        let queueDomains = Set(s.queues.keys.map(\.domain))
        var rows = Set(s.hostConfig.adapters.ids).union(queueAdapters)
        rows.formUnion(s.adapters.values.filter(\.cardDevice).map(\.id))
        var columns = Set(s.hostConfig.domains.ids).union(queueDomains)
        for m in s.mdevs {
            rows.formUnion(m.matrix.adapters.ids)
            columns.formUnion(m.matrix.domains.ids)
        }
        let labels = s.mdevs.enumerated().map { i, m in
            MdevLabel(letter: MdevLetters.letter(i), uuid: m.uuid, guest: m.guest,
                      guestState: m.guest.map { s.guests[$0]?.paused == true ? "paused" : "running" })
        }
        let adapters = rows.sorted()
        let domains = columns.sorted()
        // APQN -> mdev index, built once (the kernel refuses sharing, so one each).
        var assigned: [APQN: Int] = [:]
        for (i, m) in s.mdevs.enumerated() {
            let doms = m.matrix.domains.ids
            for a in m.matrix.adapters.ids { for d in doms { assigned[APQN(card: a, domain: d)] = i } }
        }
        var cells: [PictureCell] = []
        cells.reserveCapacity(adapters.count * domains.count)
        for a in adapters {
            for d in domains {
                let q = APQN(card: a, domain: d)
                cells.append(Self.cell(q, s, mdev: assigned[q].map { ($0, labels[$0].letter) }))
            }
        }
        self.init(host: name, adapters: adapters, domains: domains, mdevs: labels, cells: cells)
    }

    static func cell(_ q: APQN, _ s: HostState, mdev: (index: Int, letter: String)?) -> PictureCell {
        var cell = PictureCell(adapter: q.card, domain: q.domain, apqn: KernelFormat.apqn(q), owner: .none, state: .absent)
        let queue = s.queues[q]
        if let queue {
            // config 0 wins over chkstop, as TAPQ answers one response code.
            if !s.isConfigured(q) { cell.state = .deconfigured }
            else if s.isCheckstopped(q) { cell.state = .checkstopped }
            else if queue.driver == .cex4queue && !s.isZcryptQueueOnline(q) { cell.state = .offline }
            else { cell.state = .online }
        }
        switch queue?.driver {
        case .cex4queue?: cell.owner = .hostDriver
        case nil where queue != nil: cell.owner = .noDriver
        case .vfioAP?: cell.owner = .vfioAP
        default: cell.owner = .none
        }
        guard let (i, letter) = mdev else { return cell }
        cell.mdev = letter
        if queue == nil || queue?.driver == .vfioAP { cell.owner = .mdev }
        let m = s.mdevs[i]
        let inGuestMatrix = m.shadow.adapters.contains(q.card) && m.shadow.domains.contains(q.domain)
        cell.use = !inGuestMatrix ? .filtered : (m.guest != nil ? .inUse : .assigned)
        return cell
    }
}
