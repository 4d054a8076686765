import TestSupport
import XCTest

/// kernfs behaviour through a `vfio-ap-sim mount` at a temporary directory
/// (clients.md parity table, kernfs-details.md §1–§5), checked with python
/// and coreutils as the clients do it.
final class FileSystemTests: XCTestCase {
    var fixtures: [MountFixture] = []

    override func setUpWithError() throws { try Simulator.requireFuse() }

    override func tearDown() {
        for f in fixtures { f.cleanUp() }
        fixtures.removeAll()
    }

    func mount(_ name: String, arguments: [String] = []) throws -> MountFixture {
        let f = try MountFixture(name: name)
        fixtures.append(f)
        try f.start(extraArguments: arguments)
        return f
    }

    /// Runs python (optionally as `nobody`) with the prelude, `S` = the
    /// mount point, `T` = its passthrough type directory (with a trailing
    /// slash) and `u` = Expected.uuid1.
    func python(_ f: MountFixture, _ script: String, asNobody: Bool = false,
                file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let names = """
            S = \(f.mountpoint.debugDescription)
            T = S + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/"
            u = "\(Expected.uuid1)"

            """
        var argv = ["/usr/bin/python3", "-c", PythonPrelude.text + names + script]
        if asNobody { argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv }
        let r = try ProcessRunner.run(argv, environment: ["HOME": "/"], file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertEqual(r.status, 0, file: file, line: line)
        return r.stdout
    }

    /// Stops the server with SIGTERM: exit status 0, nothing left mounted.
    func assertCleanStop(_ f: MountFixture, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(f.stop(), 0, "stderr: \(f.stderr)", file: file, line: line)
        XCTAssertFalse(f.isMounted, "still mounted at \(f.mountpoint)", file: file, line: line)
        XCTAssertEqual(f.stderr, "", file: file, line: line)
    }

    func testReadyLineAndCleanStop() throws {
        let f = try mount("ready")
        XCTAssertEqual(f.readyLine, "vfio-ap-sim: host 'ready' ready at \(f.mountpoint) (control: \(f.runtimeDir)/ready.sock)")
        XCTAssertTrue(f.isMounted)
        XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/ap_max_adapter_id"), encoding: .utf8), "255\n")
        assertCleanStop(f)
    }

    func testStatSizesModesAndOwners() throws {
        let f = try mount("stat")
        let out = try python(f, """
            import stat
            for p in ["bus/ap/apmask", "bus/ap/ap_max_domain_id", "bus/ap/drivers/vfio_ap/bind",
                      "devices/ap/card05/hwtype", "devices/ap/card05/config", "devices/ap/card05/05.0004/config",
                      "devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create",
                      "bus/ap/devices/card05", "devices/ap/card05", "devices/ap/card05/uevent"]:
                st = os.lstat(S + "/" + p)
                print(p, oct(st.st_mode), st.st_size, st.st_uid, st.st_gid, st.st_blksize, st.st_blocks)
            """)
        XCTAssertEqual(out, """
            bus/ap/apmask 0o100644 4096 0 0 4096 0
            bus/ap/ap_max_domain_id 0o100444 4096 0 0 4096 0
            bus/ap/drivers/vfio_ap/bind 0o100200 4096 0 0 4096 0
            devices/ap/card05/hwtype 0o100444 4096 0 0 4096 0
            devices/ap/card05/config 0o100644 4096 0 0 4096 0
            devices/ap/card05/05.0004/config 0o100444 4096 0 0 4096 0
            devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create 0o100200 4096 0 0 4096 0
            bus/ap/devices/card05 0o120777 0 0 0 4096 0
            devices/ap/card05 0o40755 0 0 0 4096 0
            devices/ap/card05/uevent 0o100644 4096 0 0 4096 0

            """)
        assertCleanStop(f)
    }

    /// One show per open: a reader that has started keeps its snapshot; a
    /// new read at offset 0 (lseek or a new open) calls show again.
    func testOneShowPerOpenAndRereadAtOffsetZero() throws {
        let f = try mount("show")
        let out = try python(f, """
            w(T + "create", u)
            m = S + "/devices/vfio_ap/matrix/" + u + "/"
            w(S + "/bus/ap/apmask", "-5,-6")
            w(S + "/bus/ap/aqmask", "-4,-0x47,-0xab,-0xff")
            w(m + "assign_adapter", "5")
            w(m + "assign_domain", "4")
            fd = os.open(m + "matrix", os.O_RDONLY)
            print(repr(os.read(fd, 3)))
            w(m + "assign_domain", "0xab")
            print(repr(os.read(fd, 4096)), repr(os.read(fd, 4096)))
            os.lseek(fd, 0, os.SEEK_SET)
            print(repr(os.read(fd, 4096)))
            print(repr(os.pread(fd, 4096, 8)))
            print(os.lseek(fd, 0, os.SEEK_END))
            os.close(fd)
            """)
        XCTAssertEqual(out, """
            ok 36
            ok 5
            ok 20
            ok 1
            ok 1
            b'05.'
            ok 4
            b'0004\\n' b''
            b'05.0004\\n05.00ab\\n'
            b'05.00ab\\n'
            4096

            """)
        assertCleanStop(f)
    }

    /// Writes as mdevctl and chzcrypt do them (no newline), as Rust
    /// fs::write / fopen("w") do them (O_TRUNC), and `>>` (O_APPEND).
    func testWriteForms() throws {
        let f = try mount("writes")
        let m = f.path("devices/vfio_ap/matrix/\(Expected.uuid1)")
        let sh = try ProcessRunner.run(["/bin/sh", "-c", """
            printf \(Expected.uuid1) > \(f.path("devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create"))
            printf -- -5,-6 > \(f.path("bus/ap/apmask"))
            printf -- -4,-0x47,-0xab,-0xff > \(f.path("bus/ap/aqmask"))
            printf 5 > \(m)/assign_adapter
            echo 0x47 >> \(m)/assign_domain
            """])
        XCTAssertEqual(sh.stderr, "")
        XCTAssertEqual(sh.status, 0)
        let out = try python(f, """
            m = \(m.debugDescription) + "/"
            w(m + "assign_adapter", b"6")                                 # os.write, no newline
            with open(m + "assign_domain", "w") as fh: fh.write("0xff")   # O_TRUNC
            w(m + "assign_control_domain", "4", os.O_WRONLY | os.O_APPEND)
            w(m + "assign_control_domain", "0xab\\n", os.O_WRONLY | os.O_TRUNC)
            os.truncate(m + "assign_adapter", 0)                          # truncate(2): no effect
            print(os.stat(m + "assign_adapter").st_size)
            fd = os.open(m + "unassign_control_domain", os.O_WRONLY)
            print(os.write(fd, b""))                                      # zero-length: no store
            print(os.pwrite(fd, b"0xab", 100))                            # pos is ignored by sysfs_kf_write
            os.close(fd)
            r(m + "matrix"); r(m + "control_domains")
            """)
        XCTAssertEqual(out, """
            ok 1
            ok 1
            ok 5
            4096
            0
            4
            05.0047
            05.00ff
            06.0047
            06.00ff
            0004

            """)
        assertCleanStop(f)
    }

    /// EACCES from the mode bits even for root; EPERM/EACCES for namespace
    /// operations (kernfs-details.md §1, §4).
    func testPermissionsAndNamespaceOperations() throws {
        let f = try mount("perms")
        let out = try python(f, """
            b = S + "/bus/ap/"
            e(os.open, b + "ap_max_domain_id", os.O_WRONLY)              # 0444 for write
            e(os.open, b + "ap_max_domain_id", os.O_RDWR)
            e(os.open, b + "drivers/vfio_ap/bind", os.O_RDONLY)          # 0200 for read
            e(os.open, b + "new_file", os.O_WRONLY | os.O_CREAT, 0o644)  # creat
            e(os.open, b + "apmask", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            e(os.mkdir, b + "newdir")
            e(os.rmdir, S + "/devices/ap/card05")
            e(os.unlink, b + "apmask")
            e(os.rename, b + "apmask", b + "apmask2")
            e(os.symlink, "x", b + "link")
            e(os.link, b + "apmask", b + "apmask2")
            e(os.mknod, b + "fifo", 0o600 | 0o010000)                   # S_IFIFO
            r(b + "apmask")
            """)
        XCTAssertEqual(out, """
            EACCES
            EACCES
            EACCES
            EACCES
            EEXIST
            EPERM
            EPERM
            EPERM
            EPERM
            EPERM
            EPERM
            EPERM
            \(Expected.allOnesMask)
            """)
        assertCleanStop(f)
    }

    /// Size limits and metadata operations (kernfs-details.md §1–§4, §10):
    /// a text attribute never gives more than 4095 bytes (cut mid-line), a
    /// write reaches store with at most 4096 bytes (short write), chmod is
    /// stored and then decides EACCES, user.* xattrs are EOPNOTSUPP.
    func testLimitsAndMetadata() throws {
        let f = try mount("limits")
        let out = try python(f, """
            m = S + "/devices/vfio_ap/matrix/" + u + "/"
            w(S + "/bus/ap/apmask", "\\n")                  # all zeros: never refused
            r(S + "/bus/ap/apmask")
            w(T + "create", u)
            w(m + "ap_config", "0x" + "f" * 16 + ",0xffff,\\n")   # 64 x 16 APQNs = 8192 bytes
            with open(m + "matrix", "rb") as fh: d = fh.read()
            print(len(d), d[-16:])
            w(m + "ap_config", "," * 10000)                  # one store of 4096 bytes
            r(m + "matrix")                                  # empty: ",,," cleared the masks
            a = S + "/bus/ap/apmask"
            e(os.chmod, a, 0o444)
            print(oct(os.stat(a).st_mode))
            w(a, "-5")                                       # root too: the mode decides
            e(os.chmod, a, 0o644)
            w(a, "+5")
            e(os.truncate, a, 0)
            print(os.stat(a).st_size)
            e(os.setxattr, a, "user.note", b"x")            # EOPNOTSUPP (python names 95 ENOTSUP)
            print(os.stat(S + "/devices/ap").st_nlink)      # subdirectories + 2
            """)
        XCTAssertEqual(out, """
            ok 1
            0x0000000000000000000000000000000000000000000000000000000000000000
            ok 36
            ok 27
            4095 b'\\n1f.000e\\n1f.000f'
            ok 4096
            ok
            0o100444
            open EACCES
            ok
            ok 2
            ok
            4096
            ENOTSUP
            4

            """)
        assertCleanStop(f)
    }

    /// A non-root writer meets the mode bits (0644/0200 root): EACCES; reads
    /// of 0444/0644 files work.
    func testNonRootWriterIsRefused() throws {
        let f = try mount("nobody")
        // The temporary directory must be searchable by nobody.
        chmod(f.root, 0o755)
        let out = try python(f, """
            print(os.getuid())
            r(S + "/bus/ap/ap_max_adapter_id")
            r(S + "/bus/ap/apmask")
            w(S + "/bus/ap/apmask", "-5")
            w(S + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", "\(Expected.uuid1)")
            e(os.open, S + "/bus/ap/drivers/vfio_ap/bind", os.O_RDONLY)
            """, asNobody: true)
        XCTAssertEqual(out, "65534\n255\n\(Expected.allOnesMask)open EACCES\nopen EACCES\nEACCES\n")
        XCTAssertEqual(try String(contentsOfFile: f.path("bus/ap/apmask"), encoding: .utf8), Expected.allOnesMask)
        assertCleanStop(f)
    }

    /// Relative symlink targets exactly as the driver core makes them
    /// (kernel-sysfs.md §1, notes Q6) and their canonical forms.
    func testSymlinkTargetsAndCanonicalPaths() throws {
        let f = try mount("links")
        let u = Expected.uuid1
        let out = try python(f, """
            w(S + "/bus/ap/apmask", "-5,-6")
            w(S + "/bus/ap/aqmask", "-4,-0x47,-0xab,-0xff")
            w(S + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", "\(u)")
            for p in ["bus/ap/devices/card05", "bus/ap/devices/05.0004", "bus/ap/drivers/cex4card/card05",
                      "bus/ap/drivers/vfio_ap/05.0004", "devices/ap/card05/driver", "devices/ap/card05/subsystem",
                      "devices/ap/card05/05.0004/driver", "devices/ap/card05/05.0004/subsystem",
                      "devices/ap/card05/05.0047/driver",
                      "devices/vfio_ap/matrix/driver", "devices/vfio_ap/matrix/subsystem",
                      "bus/matrix/devices/matrix", "class/mdev_bus/matrix",
                      "devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices/\(u)",
                      "bus/mdev/devices/\(u)", "bus/mdev/drivers/vfio_ap_mdev/\(u)",
                      "devices/vfio_ap/matrix/\(u)/mdev_type", "devices/vfio_ap/matrix/\(u)/driver",
                      "devices/vfio_ap/matrix/\(u)/subsystem", "devices/vfio_ap/matrix/\(u)/iommu_group",
                      "kernel/iommu_groups/0/devices/\(u)"]:
                print(p, "->", os.readlink(S + "/" + p))
            """)
        XCTAssertEqual(out, """
            ok 5
            ok 20
            ok 36
            bus/ap/devices/card05 -> ../../../devices/ap/card05
            bus/ap/devices/05.0004 -> ../../../devices/ap/card05/05.0004
            bus/ap/drivers/cex4card/card05 -> ../../../../devices/ap/card05
            bus/ap/drivers/vfio_ap/05.0004 -> ../../../../devices/ap/card05/05.0004
            devices/ap/card05/driver -> ../../../bus/ap/drivers/cex4card
            devices/ap/card05/subsystem -> ../../../bus/ap
            devices/ap/card05/05.0004/driver -> ../../../../bus/ap/drivers/vfio_ap
            devices/ap/card05/05.0004/subsystem -> ../../../../bus/ap
            devices/ap/card05/05.0047/driver -> ../../../../bus/ap/drivers/vfio_ap
            devices/vfio_ap/matrix/driver -> ../../../bus/matrix/drivers/vfio_ap
            devices/vfio_ap/matrix/subsystem -> ../../../bus/matrix
            bus/matrix/devices/matrix -> ../../../devices/vfio_ap/matrix
            class/mdev_bus/matrix -> ../../devices/vfio_ap/matrix
            devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/devices/\(u) -> ../../../\(u)
            bus/mdev/devices/\(u) -> ../../../devices/vfio_ap/matrix/\(u)
            bus/mdev/drivers/vfio_ap_mdev/\(u) -> ../../../../devices/vfio_ap/matrix/\(u)
            devices/vfio_ap/matrix/\(u)/mdev_type -> ../mdev_supported_types/vfio_ap-passthrough
            devices/vfio_ap/matrix/\(u)/driver -> ../../../../bus/mdev/drivers/vfio_ap_mdev
            devices/vfio_ap/matrix/\(u)/subsystem -> ../../../../bus/mdev
            devices/vfio_ap/matrix/\(u)/iommu_group -> ../../../../kernel/iommu_groups/0
            kernel/iommu_groups/0/devices/\(u) -> ../../../../devices/vfio_ap/matrix/\(u)

            """)
        // mdevctl list: canonicalize the bus link; parent = the canonical
        // parent directory's name, type = basename of canonical mdev_type.
        let r = try ProcessRunner.run(["/bin/sh", "-c", """
            d=$(readlink -f \(f.path("bus/mdev/devices/\(u)")))
            echo "$d"
            basename "$(dirname "$d")"
            basename "$(readlink -f "$d/mdev_type")"
            readlink -f \(f.path("class/mdev_bus/matrix"))
            readlink -f \(f.path("bus/ap/drivers/vfio_ap/06.00ff"))
            """])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            \(f.mountpoint)/devices/vfio_ap/matrix/\(u)
            matrix
            vfio_ap-passthrough
            \(f.mountpoint)/devices/vfio_ap/matrix
            \(f.mountpoint)/devices/ap/card06/06.00ff

            """)
        assertCleanStop(f)
    }

    func testUeventFiles() throws {
        let f = try mount("uevent")
        let out = try python(f, """
            def show(p): print("--", p); r(S + "/" + p)
            show("devices/ap/card05/uevent"); show("devices/ap/card06/uevent")
            show("devices/ap/card05/05.0004/uevent")
            show("devices/ap/uevent"); show("devices/vfio_ap/uevent")
            show("devices/vfio_ap/matrix/uevent")
            w(S + "/bus/ap/apmask", "-5")
            w(S + "/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create", "\(Expected.uuid1)")
            show("devices/ap/card05/05.0004/uevent")
            show("devices/vfio_ap/matrix/\(Expected.uuid1)/uevent")
            w(S + "/devices/ap/card05/uevent", "change\\n")      # synthetic event, no state change
            w(S + "/devices/ap/card05/uevent", "bogus\\n")       # EINVAL
            show("devices/ap/card05/uevent")
            """)
        XCTAssertEqual(out, """
            -- devices/ap/card05/uevent
            \(Expected.card05Uevent)-- devices/ap/card06/uevent
            \(Expected.card06Uevent)-- devices/ap/card05/05.0004/uevent
            \(Expected.queue0504UeventHost)-- devices/ap/uevent
            -- devices/vfio_ap/uevent
            -- devices/vfio_ap/matrix/uevent
            \(Expected.matrixUevent)ok 2
            ok 36
            -- devices/ap/card05/05.0004/uevent
            \(Expected.queue0504UeventVfio)-- devices/vfio_ap/matrix/\(Expected.uuid1)/uevent
            \(Expected.mdevUevent)ok 7
            EINVAL
            -- devices/ap/card05/uevent
            \(Expected.card05Uevent)
            """)
        assertCleanStop(f)
    }

    /// Two hosts side by side: separate state, separate logs, each found by
    /// `dmesg --host NAME --runtime-dir DIR`.
    func testTwoHostsAtOnce() throws {
        let a = try mount("host-a")
        let b = try mount("host-b")
        let mounts = ProcFile.read("/proc/self/mountinfo")
        XCTAssertTrue(mounts.contains(" \(a.mountpoint) ") && mounts.contains(" \(b.mountpoint) "))
        XCTAssertTrue(mounts.contains("fuse.vfio-ap-sim vfio-ap-sim"), "fstype/source in mountinfo")
        let apmask = a.path("bus/ap/apmask")
        let create = a.path("devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create")
        let sh = try ProcessRunner.run(["/bin/sh", "-c", "echo -5 > \(apmask) && echo \(Expected.uuid1) > \(create)"])
        XCTAssertEqual(sh.status, 0, sh.stderr)
        XCTAssertEqual(try String(contentsOfFile: apmask, encoding: .utf8),
                       "0xfbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n")
        XCTAssertEqual(try String(contentsOfFile: b.path("bus/ap/apmask"), encoding: .utf8), Expected.allOnesMask)
        XCTAssertTrue(FileManager.default.fileExists(atPath: a.path("devices/vfio_ap/matrix/\(Expected.uuid1)")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: b.path("devices/vfio_ap/matrix/\(Expected.uuid1)")))
        let logA = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", "host-a", "--runtime-dir", a.runtimeDir])
        let logB = try ProcessRunner.run([Simulator.binary, "dmesg", "--host", "host-b", "--runtime-dir", b.runtimeDir])
        XCTAssertEqual(logA.status, 0, logA.stderr)
        XCTAssertEqual(logB.status, 0, logB.stderr)
        XCTAssertTrue(logA.stdout.hasSuffix("] vfio_ap_mdev \(Expected.uuid1): Adding to iommu group 0\n"), logA.stdout)
        XCTAssertTrue(logB.stdout.hasSuffix("] vfio_ap matrix: MDEV: Registered\n"), logB.stdout)
        XCTAssertFalse(logB.stdout.contains("vfio_ap_mdev"), logB.stdout)
        assertCleanStop(a)
        XCTAssertTrue(b.isMounted)
        assertCleanStop(b)
    }

    /// Known bug (FuseServer): when an mdev is removed while one of its
    /// files is open (here: a reader holds `matrix`, as it would during
    /// `echo 1 > remove` itself), the notify_delete of its directory fails
    /// with ENOTEMPTY and libfuse prints `fuse: writing device: Directory not
    /// empty` on the server's stderr — inside `exec` that is the user's
    /// terminal. Removal itself works.
    func testRemovingAnMdevPrintsNothingOnStderr() throws {
        let f = try mount("remove")
        let out = try python(f, """
            import time
            for i in range(2):
                w(T + "create", u)
                fd = os.open(S + "/devices/vfio_ap/matrix/" + u + "/matrix", os.O_RDONLY)
                w(S + "/devices/vfio_ap/matrix/" + u + "/remove", "1")
                time.sleep(0.2)
                print(os.path.exists(S + "/devices/vfio_ap/matrix/" + u))
                e(os.read, fd, 10)
                os.close(fd)
            """)
        XCTAssertEqual(out, String(repeating: "ok 36\nok 1\nFalse\nENODEV\n", count: 2))
        assertCleanStop(f)
    }
}
