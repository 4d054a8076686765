/// The few characters a cell is drawn with, its colour on a terminal, and
/// the legend line that explains it.
struct CellToken: Hashable {
    enum Kind: Int, CaseIterable, Comparable {
        case host, vfio, assigned, inUse, filtered, noQueue, noDriver, absent
        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    var kind: Kind
    var letter: String
    var state: PictureCell.State

    init(_ look: PictureCell.Look) {
        state = look.state
        letter = look.mdev ?? ""
        switch look.owner {
        case .hostDriver: kind = .host
        case .noDriver: kind = .noDriver
        case .vfioAP: kind = .vfio
        case .none: kind = .absent
        case .mdev:
            if look.state == .absent { kind = .noQueue }
            else {
                switch look.use ?? .filtered {
                case .assigned: kind = .assigned
                case .inUse: kind = .inUse
                case .filtered: kind = .filtered
                }
            }
        }
    }

    /// What the owner part reads, e.g. `host`, `A*`.
    var owner: String {
        switch kind {
        case .host: return "host"
        case .noDriver: return letter + "?"
        case .vfio: return "vfio"
        case .assigned: return letter
        case .inUse: return letter + "*"
        case .filtered: return letter + "-"
        case .noQueue: return "(" + letter + ")"
        case .absent: return "."
        }
    }

    /// The state part, empty for an online queue or no queue at all.
    var suffix: String {
        switch state {
        case .online, .absent: return ""
        case .offline: return "/off"
        case .deconfigured: return "/dcf"
        case .checkstopped: return "/chk"
        }
    }

    var text: String { owner + suffix }

    /// SGR parameters of the owner part.
    var ownerColour: String {
        switch kind {
        case .host: return "34"
        case .noDriver: return "31"
        case .vfio: return "33"
        case .assigned: return "32"
        case .inUse: return "1;32"
        case .filtered: return "35"
        case .noQueue: return "2;35"
        case .absent: return "2"
        }
    }

    /// The legend line of a kind, with `X` standing for any mdev letter.
    static func legend(_ kind: Kind) -> String {
        switch kind {
        case .host: return "host  bound to cex4queue, the host's zcrypt driver"
        case .noDriver: return "?     a queue device bound to no driver (X?: in mdev X's matrix)"
        case .vfio: return "vfio  bound to vfio_ap, in no mdev (status: unassigned)"
        case .assigned: return "X     in mdev X's guest_matrix, no guest has X open (status: assigned)"
        case .inUse: return "X*    in use by the guest that has mdev X open (status: in use)"
        case .filtered: return "X-    assigned to mdev X, filtered out of its guest_matrix"
        case .noQueue: return "(X)   assigned to mdev X, no queue device"
        case .absent: return ".     no queue device (adapter or domain outside the configuration)"
        }
    }

    static func legend(_ state: PictureCell.State) -> String? {
        switch state {
        case .online, .absent: return nil
        case .offline: return "/off  queue offline (zcrypt online 0)"
        case .deconfigured: return "/dcf  deconfigured (config 0)"
        case .checkstopped: return "/chk  checkstopped (chkstop 1)"
        }
    }
}
