import TestSupport

/// The ways the tests run the built `vfio-ap-sim` (TestSupport's `Simulator`).
extension Simulator {
    /// `vfio-ap-sim exec -- bash -c SCRIPT`: the default host at /sys (bash
    /// from PATH, so its messages start `bash: line N: `).
    static func bash(_ script: String, topology: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try exec(["bash", "-c", script], topology: topology, file: file, line: line)
    }

    /// `vfio-ap-sim exec -- sh -c SCRIPT` (dash on Debian).
    static func sh(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try exec(["sh", "-c", script], file: file, line: line)
    }

    /// `vfio-ap-sim exec -- python3 -c PRELUDE+SCRIPT`: `w(path, data)` prints
    /// `ok N` or the errno name of the write; `r(path)` prints the content.
    static func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        try exec(["/usr/bin/python3", "-c", PythonPrelude.text + script], file: file, line: line)
    }

    static func exec(_ command: [String], topology: String? = nil, sysLayout: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        var args = [binary, "exec"]
        if let topology { args += ["--topology", topology] }
        if let sysLayout { args += ["--sys", sysLayout] }
        return try ProcessRunner.run(args + ["--"] + command, timeout: 30, file: file, line: line)
    }
}

/// Python helpers for exact errno checks.
enum PythonPrelude {
    static let text = """
        import os, errno, sys
        def w(p, data, flags=os.O_WRONLY):
            try:
                fd = os.open(p, flags)
            except OSError as e:
                print("open", errno.errorcode[e.errno]); return
            try:
                print("ok", os.write(fd, data.encode() if isinstance(data, str) else data))
            except OSError as e:
                print(errno.errorcode[e.errno])
            finally:
                os.close(fd)
        def r(p):
            with open(p, "rb") as f:
                sys.stdout.write(f.read().decode())
        def e(f, *a):
            try:
                f(*a); print("ok")
            except OSError as x:
                print(errno.errorcode[x.errno])

        """
}
