/// The host of the load and concurrency tests: four adapters and four
/// domains, adapters 1-2 x domains 1-2 reserved for the host drivers by
/// apmask/aqmask, the other twelve queues bound to vfio_ap.
public enum LoadTopology {
    public static let yaml = """
        name: load
        machine:
          facilities: [APSC, APXA, QACT, RC8A]
          ap_max_adapter_id: 255
          ap_max_domain_id: 255
        adapters:
          - {id: 0x01, type: CEX7, mode: cca}
          - {id: 0x02, type: CEX7, mode: accel}
          - {id: 0x03, type: CEX8, mode: cca}
          - {id: 0x04, type: CEX8, mode: accel}
        usage_domains: [1, 2, 3, 4]
        control_domains: [1, 2, 3, 4]
        ap_bus:
          apmask: "0x60"
          aqmask: "0x60"

        """

    /// The mdev UUIDs the tests create, remove and assign to.
    public static let uuids = (1...6).map { "00000000-0000-4000-8000-00000000000\($0)" }
}
