/// IDs in use, counted, and the lowest one not in use: what the kernel's
/// IDAs (`iommu_group_ida`, `vfio.device_ida`) hand out next. A bitmap of
/// the IDs in use finds it a word at a time instead of an ID at a time.
struct LowestFreeID: Sendable {
    /// How many holders each ID in use has (IDs come from state files too,
    /// which nothing stops from naming one twice).
    private var counts: [Int: Int] = [:]
    /// Bit `id % 64` of word `id / 64` is set while `id` is in use, for
    /// IDs below `Self.bitmapLimit`.
    private var words: [UInt64] = []
    /// Past this an ID is only counted: the lowest free ID is at most the
    /// number of IDs in use, and no host has a million mdevs.
    static let bitmapLimit = 1 << 20

    mutating func insert(_ id: Int) {
        counts[id, default: 0] += 1
        guard (0..<Self.bitmapLimit).contains(id) else { return }
        let w = id / 64
        if w >= words.count { words += [UInt64](repeating: 0, count: w + 1 - words.count) }
        words[w] |= 1 << UInt64(id % 64)
    }

    mutating func remove(_ id: Int) {
        guard let n = counts[id] else { return }
        if n > 1 {
            counts[id] = n - 1
            return
        }
        counts[id] = nil
        if (0..<Self.bitmapLimit).contains(id) { words[id / 64] &= ~(1 << UInt64(id % 64)) }
    }

    var lowestFree: Int {
        for (w, word) in words.enumerated() where word != .max {
            return w * 64 + (~word).trailingZeroBitCount
        }
        var id = words.count * 64
        while counts[id] != nil { id += 1 }
        return id
    }
}
