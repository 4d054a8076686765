/// The letters that name mdevs in the picture: A ... Z, then AA, AB, ...
/// (bijective base 26), so every mdev of a host gets a short name.
enum MdevLetters {
    static func letter(_ index: Int) -> String {
        var n = index + 1
        var out: [Character] = []
        while n > 0 {
            let r = (n - 1) % 26
            out.append(Character(Unicode.Scalar(UInt8(65 + r))))
            n = (n - 1) / 26
        }
        return String(out.reversed())
    }
}
