import APCore

/// Turns model changes into the tree paths they touch, for cache
/// invalidation (and later uevents).
enum ChangeMapper {
    static let matrix = "/devices/vfio_ap/matrix"

    /// Card attributes whose text can change (the rest is fixed hardware).
    static let cardFiles = ["request_count", "requestq_count", "pendingq_count", "config", "chkstop", "online", "load",
                            "serialnr", "API_ordinalnr", "FW_version", "op_modes", "uevent", "type"]
    /// What a card's info files ask through any online domain of the card.
    static let cardReachabilityFiles = ["serialnr", "API_ordinalnr", "FW_version", "op_modes"]
    static let queueFiles = ["request_count", "requestq_count", "pendingq_count", "reset", "interrupt", "config",
                             "chkstop", "ap_functions", "driver_override", "hwinfo", "online", "load", "mkvps",
                             "op_modes", "status", "se_bind", "se_associate", "uevent"]
    /// A queue's entries that come and go with its driver (the zcrypt
    /// group, vfio_ap's `status`, the driver link): new kernfs nodes on
    /// every rebinding.
    static let queueDriverEntries = ["online", "load", "mkvps", "op_modes", "status", "driver"]
    static let cardDriverEntries = ["type", "online", "load", "serialnr", "API_ordinalnr", "FW_version", "op_modes", "driver"]

    static func paths(for changes: [ModelChange], in s: HostState) -> ChangeSet {
        var set = ChangeSet()
        func dirFiles(_ dir: String, _ names: [String]) { set.contentChanged += names.map { "\(dir)/\($0)" } }
        for change in changes {
            switch change {
            case .busAttributes:
                dirFiles("/bus/ap", ["ap_domain", "ap_control_domain_mask", "ap_usage_domain_mask", "ap_adapter_mask", "config_time", "poll_thread", "poll_timeout", "apmask", "aqmask",
                                     "scans", "bindings", "bindings_complete_count", "drivers_autoprobe"])
                set.contentChanged += ["/bus/matrix/drivers_autoprobe", "/bus/mdev/drivers_autoprobe"]
            case .card(let id):
                dirFiles(cardPath(id), cardFiles)
            case .cardBinding(let id):
                set.entriesChanged += [cardPath(id), "/bus/ap/drivers/cex4card"]
                set.removed += cardDriverEntries.map { cardPath(id) + "/" + $0 }
                set.removed.append("/bus/ap/drivers/cex4card/" + KernelFormat.cardName(id))
                set.contentChanged.append(cardPath(id) + "/uevent")
            case .cardAdded(let id), .cardRemoved(let id):
                set.entriesChanged += ["/devices/ap", "/bus/ap/devices", "/bus/ap/drivers/cex4card"]
                if case .cardRemoved = change {
                    set.removed += [cardPath(id), "/bus/ap/devices/" + KernelFormat.cardName(id),
                                    "/bus/ap/drivers/cex4card/" + KernelFormat.cardName(id)]
                }
            case .queue(let q):
                dirFiles(queuePath(q), queueFiles)
                dirFiles(cardPath(q.card), cardReachabilityFiles)
            case .queueBinding(let q):
                set.entriesChanged += [queuePath(q), "/bus/ap/drivers/cex4queue", "/bus/ap/drivers/vfio_ap"]
                set.removed += queueDriverEntries.map { queuePath(q) + "/" + $0 }
                set.removed += ["/bus/ap/drivers/cex4queue/\(q)", "/bus/ap/drivers/vfio_ap/\(q)"]
                set.contentChanged.append(queuePath(q) + "/uevent")
                dirFiles(cardPath(q.card), cardReachabilityFiles)
            case .queueAdded(let q), .queueRemoved(let q):
                set.entriesChanged += [cardPath(q.card), "/bus/ap/devices"]
                if case .queueRemoved = change {
                    set.removed += [queuePath(q), "/bus/ap/devices/\(q)",
                                    "/bus/ap/drivers/cex4queue/\(q)", "/bus/ap/drivers/vfio_ap/\(q)"]
                }
            case .mdev(let uuid):
                dirFiles("\(matrix)/\(uuid)", ["ap_config", "control_domains", "matrix", "guest_matrix"])
            case .mdevAdded(let uuid), .mdevRemoved(let uuid):
                let links = ["\(matrix)/mdev_supported_types/vfio_ap-passthrough/devices",
                             "/bus/mdev/devices", "/bus/mdev/drivers/vfio_ap_mdev",
                             "/kernel/iommu_groups", "/class/vfio-dev"]
                set.entriesChanged += [matrix] + links
                if case .mdevRemoved = change {
                    set.removed.append("\(matrix)/\(uuid)")
                    // The links name the mdev, its iommu group and its vfio
                    // device: the front end checks which of those it knows.
                    set.childrenMayHaveGone += links
                }
            case .mdevType:
                set.contentChanged.append("\(matrix)/mdev_supported_types/vfio_ap-passthrough/available_instances")
            case .kernelLog, .guests, .announced, .migrationState, .hardware:
                break
            }
        }
        set.contentChanged = unique(set.contentChanged)
        set.entriesChanged = unique(set.entriesChanged)
        set.removed = unique(set.removed)
        set.childrenMayHaveGone = unique(set.childrenMayHaveGone)
        return set
    }

    static func cardPath(_ id: Int) -> String { "/devices/ap/\(KernelFormat.cardName(id))" }
    static func queuePath(_ q: APQN) -> String { "\(cardPath(q.card))/\(q)" }

    static func unique(_ a: [String]) -> [String] {
        var seen = Set<String>()
        return a.filter { seen.insert($0).inserted }
    }
}
