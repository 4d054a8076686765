import APCore

/// A host from inline topology YAML; `file` is the name errors cite.
public func makeHost(_ yaml: String, file: String = "inline.yaml") throws -> S390Host {
    let t = try TopologyDecoder(file: file).decode(yaml)
    return try HostBuilder.build(t, file: file)
}
