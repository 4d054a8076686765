import APCore

/// Turns model changes into the tree paths they touch, for cache
/// invalidation (and later uevents).
enum ChangeMapper {
    static let matrix = "/devices/vfio_ap/matrix"

    static func paths(for changes: [ModelChange], in s: HostState) -> ChangeSet {
        var set = ChangeSet()
        func dirFiles(_ dir: String, _ names: [String]) { set.contentChanged += names.map { "\(dir)/\($0)" } }
        for change in changes {
            switch change {
            case .busAttributes:
                dirFiles("/bus/ap", ["ap_domain", "config_time", "poll_thread", "poll_timeout", "apmask", "aqmask",
                                     "scans", "bindings", "bindings_complete_count", "drivers_autoprobe"])
            case .card(let id):
                dirFiles(cardPath(id), ["request_count", "config", "chkstop", "online", "load", "serialnr", "uevent"])
            case .cardBinding(let id):
                set.entriesChanged += [cardPath(id), "/bus/ap/drivers/cex4card"]
                set.contentChanged.append(cardPath(id) + "/uevent")
            case .cardAdded(let id), .cardRemoved(let id):
                set.entriesChanged += ["/devices/ap", "/bus/ap/devices", "/bus/ap/drivers/cex4card"]
                if case .cardRemoved = change { set.removed.append(cardPath(id)) }
            case .queue(let q):
                dirFiles(queuePath(q), ["request_count", "reset", "interrupt", "config", "chkstop", "ap_functions",
                                        "driver_override", "hwinfo", "online", "load", "mkvps", "op_modes", "status"])
            case .queueBinding(let q):
                set.entriesChanged += [queuePath(q), "/bus/ap/drivers/cex4queue", "/bus/ap/drivers/vfio_ap"]
                set.contentChanged.append(queuePath(q) + "/uevent")
            case .queueAdded(let q), .queueRemoved(let q):
                set.entriesChanged += [cardPath(q.card), "/bus/ap/devices"]
                if case .queueRemoved = change { set.removed.append(queuePath(q)) }
            case .mdev(let uuid):
                dirFiles("\(matrix)/\(uuid)", ["ap_config", "control_domains", "matrix", "guest_matrix"])
            case .mdevAdded(let uuid), .mdevRemoved(let uuid):
                set.entriesChanged += [matrix, "\(matrix)/mdev_supported_types/vfio_ap-passthrough/devices",
                                       "/bus/mdev/devices", "/bus/mdev/drivers/vfio_ap_mdev",
                                       "/kernel/iommu_groups", "/class/vfio-dev"]
                if case .mdevRemoved = change { set.removed.append("\(matrix)/\(uuid)") }
            case .mdevType:
                set.contentChanged.append("\(matrix)/mdev_supported_types/vfio_ap-passthrough/available_instances")
            case .kernelLog, .guests, .announced:
                break
            }
        }
        set.contentChanged = unique(set.contentChanged)
        set.entriesChanged = unique(set.entriesChanged)
        set.removed = unique(set.removed)
        return set
    }

    static func cardPath(_ id: Int) -> String { "/devices/ap/\(KernelFormat.cardName(id))" }
    static func queuePath(_ q: APQN) -> String { "\(cardPath(q.card))/\(q)" }

    static func unique(_ a: [String]) -> [String] {
        var seen = Set<String>()
        return a.filter { seen.insert($0).inserted }
    }
}
