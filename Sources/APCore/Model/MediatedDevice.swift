/// A vfio_ap mediated device (`struct ap_matrix_mdev`).
public struct MediatedDevice: Sendable, Equatable, Codable {
    /// Lower-case UUID, the device name (`%pUl`).
    public var uuid: String
    /// What userspace assigned: adapters, usage domains, control domains.
    public var matrix: APMatrix
    /// The guest's view after filtering (`shadow_apcb`, the `guest_matrix`).
    public var shadow: APMatrix
    /// `/sys/kernel/iommu_groups/N`: the lowest free group id at create.
    public var iommuGroup: Int
    /// `vfio-dev/vfio<N>`: the lowest free VFIO device index at create.
    public var vfioDeviceIndex: Int
    /// The name of the simulated KVM guest that has the mdev open, if any.
    public var guest: String?

    public init(uuid: String, iommuGroup: Int, vfioDeviceIndex: Int) {
        self.uuid = uuid
        matrix = APMatrix()
        shadow = APMatrix()
        self.iommuGroup = iommuGroup
        self.vfioDeviceIndex = vfioDeviceIndex
        guest = nil
    }

    public func isAssigned(_ q: APQN) -> Bool { matrix.adapters.contains(q.card) && matrix.domains.contains(q.domain) }
}

/// The three masks of an AP matrix (`struct ap_matrix`).
public struct APMatrix: Sendable, Equatable, Codable {
    public var adapters = APMask()
    public var domains = APMask()
    public var controlDomains = APMask()

    public init(adapters: APMask = APMask(), domains: APMask = APMask(), controlDomains: APMask = APMask()) {
        self.adapters = adapters
        self.domains = domains
        self.controlDomains = controlDomains
    }

    /// One of the three masks.
    public subscript(resource: HostState.MatrixResource) -> APMask {
        get {
            switch resource {
            case .adapter: return adapters
            case .domain: return domains
            case .controlDomain: return controlDomains
            }
        }
        set {
            switch resource {
            case .adapter: adapters = newValue
            case .domain: domains = newValue
            case .controlDomain: controlDomains = newValue
            }
        }
    }

    /// APM x AQM, adapter-major ascending.
    public var apqns: [APQN] {
        let doms = domains.ids
        return adapters.ids.flatMap { a in doms.map { APQN(card: a, domain: $0) } }
    }

    public var isEmpty: Bool { adapters.isEmpty && domains.isEmpty && controlDomains.isEmpty }

    /// The IDs of `self` that `other` lacks, mask by mask.
    public func subtracting(_ other: APMatrix) -> APMatrix {
        APMatrix(adapters: adapters.subtracting(other.adapters), domains: domains.subtracting(other.domains),
                 controlDomains: controlDomains.subtracting(other.controlDomains))
    }

    public func intersection(_ other: APMatrix) -> APMatrix {
        APMatrix(adapters: adapters.intersection(other.adapters), domains: domains.intersection(other.domains),
                 controlDomains: controlDomains.intersection(other.controlDomains))
    }

    /// `vfio_ap_mdev_get_num_queues`: popcount(APM) x popcount(AQM).
    public var queueCount: Int { adapters.count * domains.count }
}
