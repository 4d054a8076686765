/// The vfio_ap mdevs in creation order (`matrix_dev->mdev_list`, which the
/// kernel walks newest first because `vfio_ap_mdev_probe` adds at the head),
/// with the indexes that keep a lookup by UUID, by APQN and the sharing
/// check (`vfio_ap_mdev_verify_no_sharing`) from walking every mdev: a
/// host with 20,000 mdevs boots in linear time. An array to everyone
/// else: persisted, compared and iterated as `[MediatedDevice]`.
public struct MediatedDeviceList: Sendable {
    private var devices: [MediatedDevice] = []
    /// UUID → position of the first mdev with that UUID.
    private var positions: [String: Int] = [:]
    /// Per adapter ID, the positions of the mdevs that have it and at least
    /// one domain; per domain ID, those that have it and at least one
    /// adapter. Only such mdevs hold APQNs, so only they can share one.
    private var adapterHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
    private var domainHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
    private var iommuGroups = LowestFreeID()
    private var vfioDeviceIndexes = LowestFreeID()

    public init() {}

    public init<S: Sequence>(_ devices: S) where S.Element == MediatedDevice {
        self.devices = Array(devices)
        rebuildIndexes()
    }

    // MARK: - Lookups

    /// The position of the mdev named `uuid` (compared as is).
    public func position(of uuid: String) -> Int? { positions[uuid] }

    /// The newest mdev, other than `excluded`, whose adapters meet `adapters`
    /// and whose domains meet `domains`: the first one the kernel's walk of
    /// `mdev_list` in `vfio_ap_mdev_verify_no_sharing` stops at. Looks only
    /// at the mdevs holding one of the IDs, from the side with fewer.
    public func newestSharing(adapters: APMask, domains: APMask, excluding excluded: Int? = nil) -> Int? {
        let adapterIDs = adapters.ids, domainIDs = domains.ids
        let viaAdapters = adapterIDs.reduce(0) { $0 + adapterHolders[$1].count }
        let viaDomains = domainIDs.reduce(0) { $0 + domainHolders[$1].count }
        var newest = -1
        if viaAdapters <= viaDomains {
            for a in adapterIDs {
                for j in adapterHolders[a] where j > newest && j != excluded && devices[j].matrix.domains.intersects(domains) {
                    newest = j
                }
            }
        } else {
            for d in domainIDs {
                for j in domainHolders[d] where j > newest && j != excluded && devices[j].matrix.adapters.intersects(adapters) {
                    newest = j
                }
            }
        }
        return newest < 0 ? nil : newest
    }

    /// The newest mdev whose matrix holds the APQN.
    public func newestHolder(of q: APQN) -> Int? {
        newestSharing(adapters: APMask(ids: [q.card]), domains: APMask(ids: [q.domain]))
    }

    /// The lowest iommu group and VFIO device index no mdev has
    /// (`iommu_group_ida`, `vfio.device_ida`).
    public var lowestFreeIOMMUGroup: Int { iommuGroups.lowestFree }
    public var lowestFreeVFIODeviceIndex: Int { vfioDeviceIndexes.lowestFree }

    // MARK: - Index upkeep

    private mutating func rebuildIndexes() {
        positions = [:]
        positions.reserveCapacity(devices.count)
        adapterHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
        domainHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
        iommuGroups = LowestFreeID()
        vfioDeviceIndexes = LowestFreeID()
        for (j, m) in devices.enumerated() { add(m, at: j) }
    }

    private mutating func add(_ m: MediatedDevice, at j: Int) {
        if positions[m.uuid] == nil { positions[m.uuid] = j }
        for a in Self.heldAdapters(m).ids { adapterHolders[a].insert(j) }
        for d in Self.heldDomains(m).ids { domainHolders[d].insert(j) }
        iommuGroups.insert(m.iommuGroup)
        vfioDeviceIndexes.insert(m.vfioDeviceIndex)
    }

    /// The mdev at `j` (already stored) changed in place: only what differs
    /// is re-indexed; a new UUID (which no rule makes) re-indexes all.
    private mutating func reindex(_ j: Int, old: MediatedDevice, new: MediatedDevice) {
        if old.uuid != new.uuid {
            rebuildIndexes()
            return
        }
        if old.matrix != new.matrix {
            let (oldA, newA) = (Self.heldAdapters(old), Self.heldAdapters(new))
            for a in oldA.subtracting(newA).ids { adapterHolders[a].remove(j) }
            for a in newA.subtracting(oldA).ids { adapterHolders[a].insert(j) }
            let (oldD, newD) = (Self.heldDomains(old), Self.heldDomains(new))
            for d in oldD.subtracting(newD).ids { domainHolders[d].remove(j) }
            for d in newD.subtracting(oldD).ids { domainHolders[d].insert(j) }
        }
        if old.iommuGroup != new.iommuGroup {
            iommuGroups.remove(old.iommuGroup)
            iommuGroups.insert(new.iommuGroup)
        }
        if old.vfioDeviceIndex != new.vfioDeviceIndex {
            vfioDeviceIndexes.remove(old.vfioDeviceIndex)
            vfioDeviceIndexes.insert(new.vfioDeviceIndex)
        }
    }

    private static func heldAdapters(_ m: MediatedDevice) -> APMask { m.matrix.domains.isEmpty ? APMask() : m.matrix.adapters }
    private static func heldDomains(_ m: MediatedDevice) -> APMask { m.matrix.adapters.isEmpty ? APMask() : m.matrix.domains }
}

extension MediatedDeviceList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection {
    public var startIndex: Int { devices.startIndex }
    public var endIndex: Int { devices.endIndex }

    public subscript(position: Int) -> MediatedDevice {
        get { devices[position] }
        set {
            let old = devices[position]
            devices[position] = newValue
            reindex(position, old: old, new: newValue)
        }
    }

    public mutating func replaceSubrange<C: Collection>(_ range: Range<Int>, with new: C) where C.Element == MediatedDevice {
        if range.isEmpty && range.lowerBound == devices.endIndex {
            // An append (mdev create): the positions before it stay.
            for m in new {
                devices.append(m)
                add(m, at: devices.count - 1)
            }
            return
        }
        // A removal or insertion moves the positions after it: index anew.
        devices.replaceSubrange(range, with: new)
        rebuildIndexes()
    }

    public mutating func reserveCapacity(_ n: Int) { devices.reserveCapacity(n) }
}

extension MediatedDeviceList: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.devices == rhs.devices }
}

extension MediatedDeviceList: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: MediatedDevice...) { self.init(elements) }
}

extension MediatedDeviceList: Codable {
    /// Persisted as the array it is.
    public init(from decoder: Decoder) throws {
        self.init(try [MediatedDevice](from: decoder))
    }

    public func encode(to encoder: Encoder) throws { try devices.encode(to: encoder) }
}
