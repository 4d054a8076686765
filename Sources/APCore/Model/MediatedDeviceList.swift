/// The vfio_ap mdevs in creation order (`matrix_dev->mdev_list`, which the
/// kernel walks newest first because `vfio_ap_mdev_probe` adds at the head),
/// with the indexes that keep a lookup by UUID, by APQN and the sharing
/// check (`vfio_ap_mdev_verify_no_sharing`) from walking every mdev: a
/// host with 20,000 mdevs boots in linear time. An array to everyone
/// else: persisted, compared and iterated as `[MediatedDevice]`.
///
/// The indexes name each mdev by a number that grows with creation order
/// and never changes (its `serial`), not by its position: a removal moves
/// the positions after it, and then nothing in the indexes has to move.
public struct MediatedDeviceList: Sendable {
    private var devices: [MediatedDevice] = []
    /// Each device's serial, ascending: a serial's position is found by
    /// binary search.
    private var serials: [Int] = []
    private var nextSerial = 0
    /// UUID → serial of the first mdev with that UUID.
    private var byUUID: [String: Int] = [:]
    /// Two mdevs share a UUID (only a state file could hold them).
    private var hasDuplicateUUIDs = false
    /// Per adapter ID, the serials of the mdevs that have it and at least
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
    public func position(of uuid: String) -> Int? { byUUID[uuid].flatMap(position(ofSerial:)) }

    /// The newest mdev, other than `excluded`, whose adapters meet `adapters`
    /// and whose domains meet `domains`: the first one the kernel's walk of
    /// `mdev_list` in `vfio_ap_mdev_verify_no_sharing` stops at. Looks only
    /// at the mdevs holding one of the IDs, from the side with fewer.
    public func newestSharing(adapters: APMask, domains: APMask, excluding excluded: Int? = nil) -> Int? {
        let adapterIDs = adapters.ids, domainIDs = domains.ids
        let viaAdapters = adapterIDs.reduce(0) { $0 + adapterHolders[$1].count }
        let viaDomains = domainIDs.reduce(0) { $0 + domainHolders[$1].count }
        let skipped = excluded.map { serials[$0] } ?? -1
        var newest = -1
        if viaAdapters <= viaDomains {
            for a in adapterIDs {
                for serial in adapterHolders[a] where serial > newest && serial != skipped
                    && device(serial).matrix.domains.intersects(domains) {
                    newest = serial
                }
            }
        } else {
            for d in domainIDs {
                for serial in domainHolders[d] where serial > newest && serial != skipped
                    && device(serial).matrix.adapters.intersects(adapters) {
                    newest = serial
                }
            }
        }
        return newest < 0 ? nil : position(ofSerial: newest)
    }

    /// The newest mdev whose matrix holds the APQN.
    public func newestHolder(of q: APQN) -> Int? {
        newestSharing(adapters: APMask(ids: [q.card]), domains: APMask(ids: [q.domain]))
    }

    /// The lowest iommu group and VFIO device index no mdev has
    /// (`iommu_group_ida`, `vfio.device_ida`).
    public var lowestFreeIOMMUGroup: Int { iommuGroups.lowestFree }
    public var lowestFreeVFIODeviceIndex: Int { vfioDeviceIndexes.lowestFree }

    private func position(ofSerial serial: Int) -> Int? {
        var low = 0, high = serials.count
        while low < high {
            let mid = (low + high) / 2
            if serials[mid] < serial { low = mid + 1 } else { high = mid }
        }
        return low < serials.count && serials[low] == serial ? low : nil
    }

    private func device(_ serial: Int) -> MediatedDevice { devices[position(ofSerial: serial)!] }

    // MARK: - Index upkeep

    private mutating func rebuildIndexes() {
        serials = Array(0..<devices.count)
        nextSerial = devices.count
        byUUID = [:]
        byUUID.reserveCapacity(devices.count)
        hasDuplicateUUIDs = false
        adapterHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
        domainHolders = [Set<Int>](repeating: [], count: APMask.bitCount)
        iommuGroups = LowestFreeID()
        vfioDeviceIndexes = LowestFreeID()
        for (serial, m) in devices.enumerated() { index(m, serial) }
    }

    private mutating func index(_ m: MediatedDevice, _ serial: Int) {
        if byUUID[m.uuid] == nil { byUUID[m.uuid] = serial } else { hasDuplicateUUIDs = true }
        for a in Self.heldAdapters(m).ids { adapterHolders[a].insert(serial) }
        for d in Self.heldDomains(m).ids { domainHolders[d].insert(serial) }
        iommuGroups.insert(m.iommuGroup)
        vfioDeviceIndexes.insert(m.vfioDeviceIndex)
    }

    /// The device at `k` is removed (`mdev_device_remove`).
    private mutating func remove(at k: Int) {
        let m = devices.remove(at: k), serial = serials.remove(at: k)
        for a in Self.heldAdapters(m).ids { adapterHolders[a].remove(serial) }
        for d in Self.heldDomains(m).ids { domainHolders[d].remove(serial) }
        iommuGroups.remove(m.iommuGroup)
        vfioDeviceIndexes.remove(m.vfioDeviceIndex)
        if byUUID[m.uuid] == serial {
            // Another mdev of that UUID, if any, is the first one now.
            byUUID[m.uuid] = hasDuplicateUUIDs ? devices.firstIndex { $0.uuid == m.uuid }.map { serials[$0] } : nil
        }
    }

    /// The mdev at `k` (already stored) changed in place: only what differs
    /// is re-indexed; a new UUID (which no rule makes) re-indexes all.
    private mutating func reindex(_ k: Int, old: MediatedDevice, new: MediatedDevice) {
        if old.uuid != new.uuid {
            rebuildIndexes()
            return
        }
        let serial = serials[k]
        if old.matrix != new.matrix {
            let (oldA, newA) = (Self.heldAdapters(old), Self.heldAdapters(new))
            for a in oldA.subtracting(newA).ids { adapterHolders[a].remove(serial) }
            for a in newA.subtracting(oldA).ids { adapterHolders[a].insert(serial) }
            let (oldD, newD) = (Self.heldDomains(old), Self.heldDomains(new))
            for d in oldD.subtracting(newD).ids { domainHolders[d].remove(serial) }
            for d in newD.subtracting(oldD).ids { domainHolders[d].insert(serial) }
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
            // An append (mdev create): the newest serial.
            for m in new {
                devices.append(m)
                serials.append(nextSerial)
                index(m, nextSerial)
                nextSerial += 1
            }
            return
        }
        if new.isEmpty {
            // A removal: nothing after it moves in the indexes.
            for k in range.reversed() { remove(at: k) }
            return
        }
        // An insertion before the end (no rule makes one): index anew.
        devices.replaceSubrange(range, with: new)
        rebuildIndexes()
    }

    public mutating func reserveCapacity(_ n: Int) {
        devices.reserveCapacity(n)
        serials.reserveCapacity(n)
    }
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
