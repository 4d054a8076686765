import Foundation
import SystemPackage
import XCTest
@testable import FuseServer

final class FuseMountTests: MountedTestCase {
    func testMountIsListedWithFsnameAndSubtype() throws {
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        let line = try XCTUnwrap(mounts.split(separator: "\n").first { $0.contains(" \(root) ") })
        XCTAssertTrue(line.hasPrefix("vfio-ap-sim \(root) fuse.vfio-ap-sim-test "), String(line))
        XCTAssertTrue(line.contains("default_permissions"), String(line))
        XCTAssertTrue(line.contains("allow_other"), String(line))
    }

    func testReadReturnsExactBytesWithOneShow() {
        let output = sh("cat bus/ap/ro")
        XCTAssertEqual(output.status, 0, output.stderr)
        XCTAssertEqual(output.stdout, "ro-content\n")
        XCTAssertEqual(fileSystem.showCount("/bus/ap/ro"), 1)
    }

    func testAttributesAndDirectoriesStat() {
        let out = python("""
        s = os.stat("bus/ap/ro"); print(oct(s.st_mode), s.st_size, s.st_nlink, s.st_blocks, s.st_blksize, s.st_uid)
        s = os.stat("bus/ap/wo"); print(oct(s.st_mode), s.st_size)
        s = os.stat("bus/ap"); print(oct(s.st_mode), s.st_size, s.st_nlink)
        s = os.lstat("bus/ap/link"); print(oct(s.st_mode), s.st_size)
        s = os.stat("devices/vfio_ap"); print(s.st_nlink)
        """)
        XCTAssertEqual(lines(out), [
            "0o100444 4096 1 0 4096 0",
            "0o100200 4096",
            "0o40755 0 2",
            "0o120777 0",
            "3",
        ])
    }

    func testStatfs() {
        XCTAssertEqual(python("s = os.statvfs('.'); print(s.f_bsize, s.f_namemax)"), "4096 255\n")
    }

    func testEveryWriteIsOneStore() {
        XCTAssertEqual(sh("echo 5 > bus/ap/rw").status, 0)
        XCTAssertEqual(fileSystem.stores.map(\.path), ["/bus/ap/rw"])
        XCTAssertEqual(fileSystem.stores.map { String(decoding: $0.data, as: UTF8.self) }, ["5\n"])

        fileSystem.resetCounters()
        let out = python("""
        fd = os.open("bus/ap/rw", os.O_WRONLY)
        print(os.write(fd, b"abc"), os.write(fd, b"de"), os.write(fd, b""), os.write(fd, b"x" * 5000))
        """)
        XCTAssertEqual(out, "3 2 0 4096\n")
        XCTAssertEqual(fileSystem.stores.map(\.data.count), [3, 2, 5000])
        XCTAssertEqual(String(decoding: fileSystem.stores[0].data, as: UTF8.self), "abc")
    }

    func testStoreErrnoBecomesWriteErrno() {
        fileSystem.failStores(with: .ioError)
        let output = sh("echo 5 > bus/ap/rw")
        XCTAssertNotEqual(output.status, 0)
        XCTAssertTrue(output.stderr.contains("I/O error"), output.stderr)

        fileSystem.failStores(with: .addressInUse)
        XCTAssertEqual(python("fd = os.open('bus/ap/rw', os.O_WRONLY)\nE(lambda: os.write(fd, b'1'))"), "EADDRINUSE\n")
        XCTAssertEqual(fileSystem.stores.count, 2)
    }

    func testTruncateAndAppendAreAccepted() {
        let out = python("""
        E(lambda: os.close(os.open("bus/ap/rw", os.O_WRONLY | os.O_TRUNC)))
        E(lambda: os.truncate("bus/ap/rw", 0))
        fd = os.open("bus/ap/rw", os.O_WRONLY | os.O_APPEND); print(os.write(fd, b"7\\n"))
        print(os.stat("bus/ap/rw").st_size)
        """)
        XCTAssertEqual(lines(out), ["ok", "ok", "2", "4096"])
        XCTAssertEqual(fileSystem.stores.map { String(decoding: $0.data, as: UTF8.self) }, ["7\n"])
    }

    func testOpenChecksLikeKernfs() {
        let out = python("""
        E(lambda: os.open("bus/ap/ro", os.O_WRONLY))
        E(lambda: os.open("bus/ap/ro", os.O_RDWR))
        E(lambda: os.open("bus/ap/wo", os.O_RDONLY))
        E(lambda: os.close(os.open("bus/ap/wo", os.O_WRONLY)))
        E(lambda: os.close(os.open("bus/ap/rw", os.O_RDWR)))
        """)
        XCTAssertEqual(lines(out), ["EACCES", "EACCES", "EACCES", "ok", "ok"])
        XCTAssertTrue(sh("cat bus/ap/wo").stderr.contains("Permission denied"))
    }

    func testNonRootWriterIsRefusedByModeBits() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to switch to another user") }
        let output = Self.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                   "/bin/sh", "-c", "echo 1 > \(root)/bus/ap/rw"])
        XCTAssertTrue(output.stderr.contains("Permission denied"), output.stderr)
        let reader = Self.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                   "/bin/cat", "\(root)/bus/ap/rw"])
        XCTAssertEqual(reader.stdout, "0\n", reader.stderr)
        XCTAssertTrue(fileSystem.stores.isEmpty)
    }

    func testNamespaceOperationsAreRefused() {
        let out = python("""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def renameat2(a, b, flags):
            if libc.syscall(316, -100, a.encode(), -100, b.encode(), flags) != 0:
                e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
        E(lambda: os.open("bus/ap/new", os.O_WRONLY | os.O_CREAT, 0o644))
        E(lambda: os.close(os.open("bus/ap/rw", os.O_WRONLY | os.O_CREAT, 0o644)))
        E(lambda: os.mknod("bus/ap/node", 0o644 | 0o100000))
        E(lambda: os.mkfifo("bus/ap/fifo"))
        E(lambda: os.mkdir("bus/ap/dir"))
        E(lambda: os.unlink("bus/ap/rw"))
        E(lambda: os.rmdir("devices/vfio_ap/mdev"))
        E(lambda: os.rename("bus/ap/rw", "bus/ap/rw2"))
        E(lambda: renameat2("bus/ap/rw", "bus/ap/rw2", 1))
        E(lambda: os.symlink("x", "bus/ap/sym"))
        E(lambda: os.link("bus/ap/rw", "bus/ap/hard"))
        E(lambda: os.setxattr("bus/ap/rw", "user.x", b"1"))
        E(lambda: os.getxattr("bus/ap/rw", "user.x"))
        print(os.listxattr("bus/ap/rw"))
        """)
        XCTAssertEqual(lines(out), ["EACCES", "ok", "EACCES", "EPERM", "EPERM", "EPERM", "EPERM", "EPERM",
                                    "EINVAL", "EPERM", "EPERM", "ENOTSUP", "ENODATA", "[]"])
    }

    func testFileOperationsKernfsAnswersWithoutENOSYS() {
        let out = python("""
        import fcntl, termios, select
        fd = os.open("bus/ap/rw", os.O_RDWR)
        E(lambda: os.fsync(fd))
        d = os.open("bus/ap", os.O_RDONLY); E(lambda: os.fsync(d))
        E(lambda: fcntl.ioctl(fd, termios.TIOCGWINSZ, b"12345678"))
        p = select.poll(); p.register(fd); print([e for _, e in p.poll(0)] == [select.POLLIN | select.POLLOUT])
        print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE), os.lseek(fd, 10, os.SEEK_END))
        E(lambda: os.lseek(fd, 5000, os.SEEK_DATA))
        E(lambda: fcntl.flock(fd, fcntl.LOCK_EX))
        E(lambda: fcntl.lockf(fd, fcntl.LOCK_EX))
        """)
        XCTAssertEqual(lines(out), ["ok", "ok", "ENOTTY", "True", "0 4096 4106", "ENXIO", "ok", "ok"])
    }

    func testManyParallelClients() { checkManyParallelClients() }

    func testChmodAndChownReachTheTree() {
        let out = python("""
        os.chmod("bus/ap/rw", 0o600); os.chown("bus/ap/rw", 12, 34)
        s = os.stat("bus/ap/rw"); print(oct(s.st_mode), s.st_uid, s.st_gid, s.st_size)
        os.utime("bus/ap/rw", None); print("utime ok")
        """)
        XCTAssertEqual(lines(out), ["0o100600 12 34 4096", "utime ok"])
    }

    func testSymlinkTarget() {
        let out = python("""
        print(os.readlink("bus/ap/link"))
        print(os.path.realpath("bus/ap/link") == os.path.realpath("devices/vfio_ap"))
        print(sorted(os.listdir("bus/ap/link")))
        """)
        XCTAssertEqual(lines(out), ["../../devices/vfio_ap", "True", "['mdev']"])
    }

    func testReaddirOfHugeDirectoryIsComplete() {
        let out = python("""
        names = os.listdir("big")
        print(len(names), len(set(names)), min(names), max(names))
        with os.scandir("big") as it:
            e = next(it); print(e.is_file(), e.inode() == os.stat("big/" + e.name).st_ino)
        """, timeout: 120)
        XCTAssertEqual(lines(out), ["70000 70000 e00000 e69999", "True True"])
        let ls = sh("ls -fa big | wc -l", timeout: 120)
        XCTAssertEqual(ls.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "70002")
        XCTAssertEqual(sh("ls -a bus/ap | tr '\\n' ' '").stdout, ". .. link ro rw wo ")
    }

    func testReadFollowsSeqFileSemantics() {
        let out = python("""
        fd = os.open("bus/ap/ro", os.O_RDONLY)
        print(os.pread(fd, 100, 0), os.pread(fd, 100, 0))
        print(os.read(fd, 3), os.read(fd, 100), os.read(fd, 100))
        print(os.pread(fd, 4, 3), os.pread(fd, 100, 50))
        """)
        XCTAssertEqual(lines(out), ["b'ro-content\\n' b'ro-content\\n'", "b'ro-' b'content\\n' b''", "b'cont' b''"])
        // pread 0, pread 0, read 0 (offset 0 again), pread 3 (non-sequential), pread 50.
        XCTAssertEqual(fileSystem.showCount("/bus/ap/ro"), 5)
    }

    func testContentChangesAreSeenByTheNextRead() {
        XCTAssertEqual(sh("cat bus/ap/rw").stdout, "0\n")
        fileSystem.setContent("/bus/ap/rw", "42\n")
        XCTAssertEqual(sh("cat bus/ap/rw").stdout, "42\n")
        XCTAssertEqual(sh("echo 9 > bus/ap/rw && cat bus/ap/rw").stdout, "9\n")
    }

    func testBlockedStoreDoesNotStopOtherRequests() { checkBlockedStoreDoesNotStopOtherRequests() }

    func testEveryBlockedStoreHandsReadingOn() { checkEveryBlockedStoreHandsReadingOn() }

    func testRemovedNodeDisappearsAndComesBackWithNewInode() throws {
        let before = python("print(os.stat('devices/vfio_ap/mdev').st_ino)")
        fileSystem.remove("/devices/vfio_ap/mdev")
        XCTAssertEqual(python("E(lambda: os.stat('devices/vfio_ap/mdev'))"), "ENOENT\n")
        // notify_delete drops the kernel's dentry; its FORGET then frees the inode.
        let inodes = try XCTUnwrap(Mirror(reflecting: mount!).descendant("handler", "inodes") as? InodeTable)
        let old = try XCTUnwrap(UInt64(before.trimmingCharacters(in: .whitespacesAndNewlines)))
        let deadline = Date(timeIntervalSinceNow: 5)
        while inodes.node(old) != nil && Date() < deadline { usleep(10_000) }
        XCTAssertNil(inodes.node(old), "removed inode should be forgotten")
        XCTAssertEqual(sh("ls devices/vfio_ap").stdout, "")
        fileSystem.add("/devices/vfio_ap/mdev", .init(type: .directory, mode: 0o755))
        let after = python("print(os.stat('devices/vfio_ap/mdev').st_ino)")
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(sh("ls devices/vfio_ap").stdout, "mdev\n")
    }

    func testOpenFileOfRemovedAttributeReadsENODEV() throws {
        // In-process client: the server's workers answer on their own threads.
        let fd = open(root + "/bus/ap/rw", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(pread(fd, &buffer, 64, 0), 2)
        fileSystem.remove("/bus/ap/rw")
        XCTAssertEqual(pread(fd, &buffer, 64, 0), -1)
        XCTAssertEqual(errno, ENODEV)
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0, "fstat of a removed kernfs file still works")
    }

    func testInvalidationsAreSentAfterChanges() throws {
        _ = python("os.stat('bus/ap/rw'); os.stat('devices/vfio_ap/mdev/state')")
        let handlerInvalidator = try XCTUnwrap(Mirror(reflecting: mount!).descendant("handler", "invalidator") as? Invalidator)
        let before = handlerInvalidator.sentCount
        XCTAssertEqual(sh("echo 3 > bus/ap/rw").status, 0)
        fileSystem.remove("/devices/vfio_ap/mdev")
        let deadline = Date(timeIntervalSinceNow: 5)
        while handlerInvalidator.sentCount < before + 3 && Date() < deadline { usleep(10_000) }
        // inval_inode(rw), then delete(state), delete(mdev), inval_inode(vfio_ap).
        XCTAssertGreaterThanOrEqual(handlerInvalidator.sentCount, before + 3)
    }
}

final class FuseMountLifecycleTests: XCTestCase {
    func testMountErrorNamesTheMountPointAndReason() throws {
        let missing = "/nonexistent-\(UUID().uuidString)"
        let mount = FuseMount(fileSystem: InMemoryFileSystem(), mountpoint: missing)
        XCTAssertThrowsError(try mount.mount()) { error in
            let error = error as? FuseMountError
            XCTAssertEqual(error?.errno, .noSuchFileOrDirectory)
            XCTAssertTrue(error?.description.contains(missing) == true, "\(String(describing: error))")
        }
        XCTAssertFalse(mount.isMounted)
        mount.stop()
    }

    func testStopIsIdempotentAndUnmounts() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("/dev/fuse is missing") }
        let dir = NSTemporaryDirectory() + "fuse-lifecycle-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mount = FuseMount(fileSystem: InMemoryFileSystem(), mountpoint: dir)
        try mount.mount()
        XCTAssertThrowsError(try mount.mount())
        try mount.start()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
        mount.stop()
        mount.stop()
        XCTAssertFalse(mount.isMounted)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
        // Mounted but never served: stop still unmounts.
        try mount.mount()
        mount.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
    }

    func testStopEndsABusyMount() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("/dev/fuse is missing") }
        let dir = NSTemporaryDirectory() + "fuse-busy-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mount = FuseMount(fileSystem: InMemoryFileSystem(), mountpoint: dir)
        try mount.start()
        let fd = open(dir + "/bus/ap/ro", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        sleeper.currentDirectoryURL = URL(fileURLWithPath: dir + "/devices")
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        let started = Date()
        mount.stop()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(read(fd, &buffer, 16), -1, "the connection is gone")
    }

    func testRunReturnsOnSIGTERM() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("/dev/fuse is missing") }
        let dir = NSTemporaryDirectory() + "fuse-signal-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mount = FuseMount(fileSystem: InMemoryFileSystem(), mountpoint: dir)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            // Only signal while run() has libfuse's handlers installed.
            if FileManager.default.fileExists(atPath: dir + "/bus/ap/ro") { kill(getpid(), SIGTERM) }
        }
        try mount.run()
        XCTAssertFalse(mount.isMounted)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
    }

    func testRunReturnsAfterStopFromAnotherThread() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("/dev/fuse is missing") }
        let dir = NSTemporaryDirectory() + "fuse-run-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mount = FuseMount(fileSystem: InMemoryFileSystem(), mountpoint: dir)
        let stopper = DispatchQueue(label: "stopper")
        stopper.asyncAfter(deadline: .now() + 1) {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
            mount.stop()
        }
        try mount.run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bus/ap/ro"))
    }
}

/// Test bodies run with more than one set of mount options.
extension MountedTestCase {
    func checkManyParallelClients() {
        let output = sh("""
        for i in $(seq 40); do (cat bus/ap/ro > /dev/null && echo $i > bus/ap/rw && ls big > /dev/null) & done; wait
        cat bus/ap/ro
        """, timeout: 120)
        XCTAssertEqual(output.stdout, "ro-content\n", output.stderr)
        XCTAssertEqual(fileSystem.stores.count, 40)
    }

    func checkBlockedStoreDoesNotStopOtherRequests() {
        fileSystem.setBlocking(true)
        let writerOutput = Locked<Output?>(nil)
        let writerDone = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            writerOutput.value = self.sh("echo 1 > bus/ap/rw")
            writerDone.signal()
        }
        XCTAssertTrue(fileSystem.waitForBlockedStore(timeout: 10), "store never called")
        for _ in 0..<3 {
            XCTAssertEqual(sh("cat bus/ap/ro", timeout: 10).stdout, "ro-content\n")
            XCTAssertEqual(sh("cat bus/ap/rw", timeout: 10).stdout, "0\n")
            XCTAssertEqual(sh("ls devices/vfio_ap", timeout: 10).stdout, "mdev\n")
        }
        XCTAssertEqual(writerDone.wait(timeout: .now() + 0.2), .timedOut, "writer should still be blocked")
        fileSystem.setBlocking(false)
        fileSystem.releaseBlockedStore()
        XCTAssertEqual(writerDone.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(writerOutput.value?.status, 0, writerOutput.value?.stderr ?? "")
        XCTAssertEqual(sh("cat bus/ap/rw").stdout, "1\n")
    }

    /// Each blocked store keeps its worker; reading /dev/fuse is handed on
    /// each time (SessionLoop), so a store to another attribute blocks too
    /// and reads go on. (FUSE lets one write at a time into an inode: the
    /// two writers write two attributes.)
    func checkEveryBlockedStoreHandsReadingOn() {
        fileSystem.setBlocking(true)
        let attributes = ["bus/ap/rw", "bus/ap/wo"]
        let finished = Locked<[Output]>([])
        let group = DispatchGroup()
        for (index, attribute) in attributes.enumerated() {
            DispatchQueue.global().async(group: group) {
                let output = self.sh("echo \(index + 1) > \(attribute)", timeout: 60)
                finished.withLock { $0.append(output) }
            }
            XCTAssertTrue(fileSystem.waitForBlockedStore(timeout: 10), "store to \(attribute) never called")
        }
        XCTAssertEqual(sh("cat bus/ap/ro; ls devices/vfio_ap", timeout: 10).stdout, "ro-content\nmdev\n")
        XCTAssertEqual(finished.value.count, 0, "a writer returned while its store blocks")
        fileSystem.setBlocking(false)
        for _ in attributes { fileSystem.releaseBlockedStore() }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(finished.value.map(\.status), [0, 0], "\(finished.value.map(\.stderr))")
        XCTAssertEqual(fileSystem.stores.map(\.path), ["/bus/ap/rw", "/bus/ap/wo"])
        XCTAssertEqual(sh("cat bus/ap/rw").stdout, "1\n")
    }
}

/// A reader that sleeps at once instead of polling /dev/fuse for the next
/// request (VFIO_AP_SIM_SPIN_US=0) serves the same.
final class FuseMountWithoutSpinTests: MountedTestCase {
    override var mountOptions: FuseMount.Options { .init(subtype: "vfio-ap-sim-test", spinMicroseconds: 0) }

    func testManyParallelClients() { checkManyParallelClients() }
    func testBlockedStoreDoesNotStopOtherRequests() { checkBlockedStoreDoesNotStopOtherRequests() }
    func testEveryBlockedStoreHandsReadingOn() { checkEveryBlockedStoreHandsReadingOn() }
}
