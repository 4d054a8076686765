func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// "0x" + 64 hex digits.
func maskText(_ digits: String) -> String {
    precondition(digits.count <= 64)
    return "0x" + digits + String(repeating: "0", count: 64 - digits.count)
}

let allOnesText = "0x" + String(repeating: "f", count: 64)
