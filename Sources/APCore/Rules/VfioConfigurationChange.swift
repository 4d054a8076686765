/// vfio_ap's answer to a change of the host's AP configuration, called by
/// the AP bus scan: vfio_ap_ops.c `vfio_ap_on_cfg_changed` before the
/// adapters are scanned, `vfio_ap_on_scan_complete` after. The mdevs keep
/// their assignments; only their guest matrix (shadow APCB) and the guests'
/// CRYCBs follow the configuration.
extension HostState {
    /// `vfio_ap_on_cfg_changed`: what left the configuration is unplugged
    /// from the guest matrices at once (`vfio_ap_mdev_on_cfg_remove`); what
    /// joined it is remembered per mdev for the end of the scan
    /// (`vfio_ap_mdev_on_cfg_add`), when its queue devices exist.
    mutating func vfioConfigurationChanged(new: APMatrix, old: APMatrix) {
        let removed = old.subtracting(new)
        if !removed.isEmpty {
            // vfio_ap_mdev_cfg_remove walks mdev_list, newest first.
            for i in mdevs.indices.reversed() {
                let gone = removed.intersection(mdevs[i].matrix)
                if !gone.isEmpty { hotUnplugRemovedConfiguration(gone, in: i) }
            }
        }
        var added = new.subtracting(old)
        // vfio_ap_mdev_cfg_add: nothing to remember without mdevs.
        guard !added.isEmpty, !mdevs.isEmpty else { return }
        added.adapters = adaptersOfSupportedType(added.adapters, domains: added.domains)
        for m in mdevs {
            let mine = added.intersection(m.matrix)
            if !mine.isEmpty { vfioConfigAdds[m.uuid] = mine }
        }
    }

    /// `vfio_ap_mdev_hot_unplug_cfg`: the removed adapters, domains and
    /// control domains leave the shadow APCB and the guest's CRYCB. No queue
    /// is reset: they are no longer the host's to reset.
    private mutating func hotUnplugRemovedConfiguration(_ gone: APMatrix, in i: Int) {
        let before = mdevs[i].shadow
        let after = before.subtracting(gone)
        guard after != before else { return }
        mdevs[i].shadow = after
        record(.mdev(mdevs[i].uuid))
        recordQueueStatus(of: i)
        guestConfigurationChanged(i)
    }

    /// `vfio_ap_filter_apid_by_qtype`: an added adapter is dropped when one
    /// of the added domains' queues on it gives no TAPQ info or is older
    /// than CEX4 (with no domain added, nothing is asked or dropped).
    private func adaptersOfSupportedType(_ adapters: APMask, domains: APMask) -> APMask {
        var kept = adapters
        let doms = domains.ids
        for a in adapters.ids {
            for d in doms {
                guard let t = tapq(APQN(card: a, domain: d)), t.hardwareInfo.apType >= APDeviceType.cex4 else {
                    kept.remove(a)
                    break
                }
            }
        }
        return kept
    }

    /// Whether the queues probed during this scan should leave the
    /// filtering to `vfio_ap_on_scan_complete` (`vfio_ap_mdev_probe_queue`:
    /// adapters or domains of the mdev were added to the configuration).
    func deferringHotPlug(_ uuid: String) -> Bool {
        guard let add = vfioConfigAdds[uuid] else { return false }
        return !add.adapters.isEmpty || !add.domains.isEmpty
    }

    /// `vfio_ap_on_scan_complete` → `vfio_ap_mdev_hot_plug_cfg` for each
    /// mdev something was added for: filter again, plug what passes into
    /// the guest, reset the queues of adapters the filter took away.
    mutating func vfioScanComplete() {
        for i in mdevs.indices.reversed() {
            guard let add = vfioConfigAdds[mdevs[i].uuid] else { continue }
            var changed = false
            var filtered: [Int] = []
            if !add.adapters.isEmpty || !add.domains.isEmpty { (changed, filtered) = filterMatrix(i) }
            if !add.controlDomains.isEmpty, filterControlDomains(i) { changed = true }
            if changed { guestConfigurationChanged(i) }
            resetQueues(ofAdapters: filtered, in: i)
        }
        vfioConfigAdds.removeAll()
    }
}
