/// A topology that cannot describe a host: names the file, the field and the value.
public struct TopologyError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var field: String
    public var message: String

    public init(file: String, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "topology \(file): \(message)" : "topology \(file): \(field): \(message)"
    }
}
