import APCore

extension APMask {
    /// All ones except `ids`.
    public static func allBut(_ ids: Int...) -> APMask { APMask.allOnes.subtracting(APMask(ids: ids)) }
}
