import Foundation
import Glibc
import TestSupport
import XCTest

/// Where control sockets live (docs/CONTROL.md): a non-root user's default
/// /tmp/vfio-ap-sim-UID is used only when it is that user's own 0700
/// directory; directories are created 0700 whatever the umask; a directory
/// that cannot be made is reported with its path and strerror (issue 10,
/// points 7 and 11).
final class RuntimeDirectoryTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("rundir", subdirectories: ["mnt"])
    }

    override func tearDown() {
        if MountFixture.isMounted(root + "/mnt") { _ = try? ProcessRunner.run(["/bin/umount", "-l", root + "/mnt"]) }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// SCRIPT (sh) in a mount namespace of its own with a private tmpfs at
    /// /tmp: /tmp/vfio-ap-sim-65534 there is this test's alone. `as_nobody
    /// ARGS` runs vfio-ap-sim as nobody with no runtime-directory variables.
    private func withPrivateTmp(_ script: String) throws -> ProcessResult {
        try ProcessRunner.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", """
            \(PrivateTmp.mountLines())
            D=/tmp/vfio-ap-sim-65534
            as_nobody() { timeout 15 setpriv --reuid 65534 --regid 65534 --clear-groups env -u XDG_RUNTIME_DIR -u VFIO_AP_SIM_RUNTIME_DIR -u VFIO_AP_SIM_HOST "$SIM" "$@" 2>&1; echo "status $?"; }
            \(script)
            """], environment: ["SIM": Simulator.binary], timeout: 60)
    }

    static let advice = "remove it, or choose a directory with --runtime-dir"

    func testAnotherUsersDefaultRuntimeDirectoryIsRefused() throws {
        let r = try withPrivateTmp("""
            mkdir -m 0777 $D
            as_nobody dmesg
            mkdir -m 0777 /tmp/m; as_nobody mount /tmp/m
            rmdir $D; mkdir $D; chown 65534:65534 $D; chmod 0777 $D
            as_nobody dmesg
            chmod 0750 $D
            as_nobody dmesg
            rmdir $D; mkdir -m 0700 /tmp/elsewhere; chown 65534:65534 /tmp/elsewhere; ln -s /tmp/elsewhere $D
            as_nobody dmesg
            rm $D; touch $D; chown 65534 $D
            as_nobody dmesg
            rm $D; mkdir -m 0700 $D; chown 65534:65534 $D
            as_nobody dmesg
            """)
        XCTAssertEqual(r.lines, [
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it is owned by uid 0, not 65534; \(Self.advice)", "status 1",
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it is owned by uid 0, not 65534; \(Self.advice)", "status 1",
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it has mode 0777, not 0700; \(Self.advice)", "status 1",
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it has mode 0750, not 0700; \(Self.advice)", "status 1",
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it is a symbolic link; \(Self.advice)", "status 1",
            "vfio-ap-sim: refusing the runtime directory /tmp/vfio-ap-sim-65534: it is not a directory; \(Self.advice)", "status 1",
            // The user's own 0700 directory passes the check.
            "vfio-ap-sim: no emulated host is running (no control socket in /tmp/vfio-ap-sim-65534)", "status 1",
        ], r.stdout + r.stderr)
    }

    /// nobody's own host creates /tmp/vfio-ap-sim-65534 0700 even with
    /// umask 0, and its clients find it there.
    func testTheDefaultRuntimeDirectoryIsCreated0700() throws {
        let r = try withPrivateTmp("""
            mkdir -m 0777 /tmp/m
            setpriv --reuid 65534 --regid 65534 --clear-groups env -u XDG_RUNTIME_DIR -u VFIO_AP_SIM_RUNTIME_DIR \
                timeout 30 sh -c 'umask 0; exec "$SIM" mount --name n /tmp/m' > /tmp/ready 2>&1 &
            HOST=$!
            for i in $(seq 100); do [ -s /tmp/ready ] && break; sleep 0.1; done
            stat -c '%a %u %F' $D; stat -c '%a %u' $D/n.sock
            as_nobody dmesg | grep -c 'MDEV: Registered'  # (its "status" line goes to grep)
            kill $HOST; wait $HOST; echo "host status $?"
            """)
        if r.stdout.contains("fusermount") { throw XCTSkip("FUSE mounts by nobody are not possible here: \(r.stdout)") }
        XCTAssertEqual(r.lines, ["700 65534 directory", "600 65534", "1", "host status 0"], r.stdout + r.stderr)
    }

    /// An explicit --runtime-dir is created with its missing parents, each
    /// 0700, whatever the umask.
    func testExplicitRuntimeDirectoriesAreCreated0700WhateverTheUmask() throws {
        for umask in ["0", "0777"] {
            let run = root + "/run-\(umask)/deep"
            let f = MountFixture(name: "umask\(umask)", mountpoint: root + "/mnt", runtimeDir: run)
            defer { f.cleanUp() }
            try f.start(wrapper: ["/bin/sh", "-c", "umask \(umask); exec \"$0\" \"$@\""])
            for dir in [root + "/run-\(umask)", run] {
                var st = stat()
                XCTAssertEqual(lstat(dir, &st), 0, dir)
                XCTAssertEqual(st.st_mode & 0o7777, 0o700, "umask \(umask): \(dir)")
            }
            var st = stat()
            XCTAssertEqual(lstat(run + "/umask\(umask).sock", &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o600, "umask \(umask): the socket")
            XCTAssertEqual(f.stop(), 0)
        }
    }

    /// A server refuses an explicit runtime directory others can write to
    /// (they could replace its socket) or that another user owns.
    func testAnExplicitRuntimeDirectoryOthersCanWriteIsRefused() throws {
        let run = root + "/open"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        chmod(run, 0o777)
        let r = try ProcessRunner.run([Simulator.binary, "mount", "--name", "open", "--runtime-dir", run, root + "/mnt"], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: refusing the runtime directory \(run): group or others can write to it (mode 0777); \(Self.advice)\n")
        XCTAssertFalse(MountFixture.isMounted(root + "/mnt"))
        chmod(run, 0o755)
        chown(run, 65534, 65534)
        let o = try ProcessRunner.run([Simulator.binary, "mount", "--name", "open", "--runtime-dir", run, root + "/mnt"],
                                      environment: [:], timeout: 20)
        XCTAssertEqual(o.status, 1)
        XCTAssertEqual(o.stderr, "vfio-ap-sim: refusing the runtime directory \(run): it is owned by uid 65534, not 0; \(Self.advice)\n")
        // The same through $VFIO_AP_SIM_RUNTIME_DIR.
        let e = try ProcessRunner.run([Simulator.binary, "mount", "--name", "open", root + "/mnt"],
                                      environment: ["VFIO_AP_SIM_RUNTIME_DIR": run], timeout: 20)
        XCTAssertEqual(e.status, 1)
        XCTAssertEqual(e.stderr, o.stderr)
    }

    /// A runtime directory that is a file, or on a read-only file system,
    /// is reported with the path and strerror, not as a Foundation error.
    func testRuntimeDirectoryErrorsAreClear() throws {
        let file = root + "/file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        for (dir, reason) in [(file, "Not a directory"), (file + "/run", "Not a directory")] {
            for layout in ["emulated", "overlay"] {
                let r = try ProcessRunner.run([Simulator.binary, "mount", "--name", "f", "--layout", layout, "--runtime-dir", dir, root + "/mnt"], timeout: 20)
                XCTAssertEqual(r.status, 1)
                XCTAssertEqual(r.stderr, "vfio-ap-sim: cannot create the runtime directory \(dir): \(reason)\n", layout)
                XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"))
                XCTAssertFalse(MountFixture.isMounted(root + "/mnt"))
            }
        }
        // A read-only file system (a tmpfs mounted ro in a namespace of its own).
        try FileManager.default.createDirectory(atPath: root + "/ro", withIntermediateDirectories: true)
        let r = try ProcessRunner.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                                       "mount -t tmpfs -o ro vfio-ap-sim-test \"$1\"/ro && exec \"$0\" mount --name ro --runtime-dir \"$1\"/ro/run \"$1\"/mnt",
                                       Simulator.binary, root], timeout: 20)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "vfio-ap-sim: cannot create the runtime directory \(root)/ro/run: Read-only file system\n")
    }
}
