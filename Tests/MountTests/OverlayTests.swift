import Foundation
import TestSupport
import XCTest

/// The machine's /sys with the emulated AP objects over it, as an s390 host
/// has both: inside `exec` (the default) and at a directory with
/// `mount --layout overlay`. The real entries are visible and read-only; the
/// machine's own sysfs is never written or unmounted.
final class OverlayTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    private var fixtures: [MountFixture] = []
    override func tearDown() { for f in fixtures { f.cleanUp() } }

    /// The machine's mounts at or below /sys, to check nothing changed.
    func sysMounts() throws -> [String] {
        var out: [String] = []
        for line in ProcFile.read("/proc/self/mountinfo").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 5, f[4] == "/sys" || f[4].hasPrefix("/sys/") else { continue }
            out.append(f[4] + " " + f[5])
        }
        return out
    }

    func real(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func testExecSeesTheMachinesSysAndTheEmulatedTree() throws {
        let before = try sysMounts()
        let online = try real("/sys/devices/system/cpu/online")
        let cgroups = try FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup").sorted()
        let net = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        let r = try Simulator.bash("""
            export LC_ALL=C; cat /sys/devices/system/cpu/online
            ls /sys/fs/cgroup | tr '\\n' ' '; echo
            ls /sys/class/net | tr '\\n' ' '; echo
            for p in /sys/bus/ap/apmask /sys/devices/vfio_ap/matrix/features /sys/class/mdev_bus/matrix \\
                     /sys/kernel/iommu_groups /sys/module/vfio_ap/initstate /sys/module/zcrypt_cex4/drivers; do
                [ -e $p ] && echo $p
            done
            readlink -f /sys/bus/ap/devices/card05 /sys/class/mdev_bus/matrix
            echo -5,-6 > /sys/bus/ap/apmask && cat /sys/bus/ap/apmask
            readlink /sys/bus/ap/devices/05.0004/driver
            echo x > /sys/kernel/vfio-ap-sim-probe
            echo > /sys/devices/system/cpu/online
            echo 1 > /sys/fs/cgroup/\(cgroups.first ?? "x")/vfio-ap-sim-probe
            mkdir /sys/vfio-ap-sim-probe
            mkdir /sys/bus/vfio-ap-sim-probe
            exit 3
            """)
        XCTAssertEqual(r.status, 3, "exec exits with the command's status")
        XCTAssertEqual(r.stdout, """
            \(online)\(cgroups.joined(separator: " ")) 
            \(net.joined(separator: " ")) 
            /sys/bus/ap/apmask
            /sys/devices/vfio_ap/matrix/features
            /sys/class/mdev_bus/matrix
            /sys/kernel/iommu_groups
            /sys/module/vfio_ap/initstate
            /sys/module/zcrypt_cex4/drivers
            /sys/devices/ap/card05
            /sys/devices/vfio_ap/matrix
            0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            ../../../../bus/ap/drivers/vfio_ap

            """)
        XCTAssertEqual(r.stderr, """
            bash: line 11: /sys/kernel/vfio-ap-sim-probe: Read-only file system
            bash: line 12: /sys/devices/system/cpu/online: Read-only file system
            bash: line 13: /sys/fs/cgroup/\(cgroups.first ?? "x")/vfio-ap-sim-probe: Read-only file system
            mkdir: cannot create directory '/sys/vfio-ap-sim-probe': Read-only file system
            mkdir: cannot create directory '/sys/bus/vfio-ap-sim-probe': Read-only file system

            """)
        XCTAssertEqual(try sysMounts(), before, "the machine's /sys mounts are as they were")
        XCTAssertEqual(try real("/sys/devices/system/cpu/online"), online)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/kernel/vfio-ap-sim-probe"))
    }

    /// Every mount at or below the command's /sys is read-only but the
    /// emulated tree's binds, however many the machine has.
    func testEveryRealMountUnderSysIsReadOnly() throws {
        let r = try Simulator.exec(["/bin/cat", "/proc/self/mountinfo"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var real = 0, emulated = 0
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 8, f[4] == "/sys" || f[4].hasPrefix("/sys/"), let dash = f.firstIndex(of: "-") else { continue }
            if f[dash + 1] == "fuse.vfio-ap-sim" { emulated += 1; continue }
            real += 1
            XCTAssertTrue(f[5].split(separator: ",").contains("ro"), "writable: \(line)")
        }
        XCTAssertEqual(emulated, 10, "bus/{ap,matrix,mdev} devices/{ap,vfio_ap} class/{mdev_bus,vfio-dev} kernel/iommu_groups module/{vfio_ap,zcrypt_cex4}")
        // The overlayfs (or the tmpfs of binds) and the machine's own submounts.
        let machine = ProcFile.read("/proc/self/mountinfo").split(separator: "\n").filter { $0.split(separator: " ")[4].hasPrefix("/sys/") }.count
        XCTAssertGreaterThanOrEqual(real, 1 + machine)
        // Where the kernel has overlayfs, exec lays /sys as one (OverlayFSLayout).
        if ProcFile.read("/proc/filesystems").split(separator: "\n").contains(where: { $0.hasSuffix("\toverlay") }) {
            let top = r.stdout.split(separator: "\n").map { $0.split(separator: " ") }.last { $0.count > 8 && $0[4] == "/sys" }
            let dash = top?.firstIndex(of: "-")
            XCTAssertEqual(dash.map { String(top![$0 + 1]) }, "overlay", "exec's /sys is not an overlayfs")
        }
    }

    /// Real entries of the shared directories stay next to the emulated ones.
    func testMergedDirectoriesKeepTheRealEntries() throws {
        let bus = try FileManager.default.contentsOfDirectory(atPath: "/sys/bus").filter { !["ap", "matrix", "mdev"].contains($0) }
        let modules = try FileManager.default.contentsOfDirectory(atPath: "/sys/module").count
        let r = try Simulator.bash("ls /sys/bus; ls /sys/module | wc -l")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(lines.dropLast()), Set(bus + ["ap", "matrix", "mdev"]))
        let emulatedModules = ["vfio_ap", "zcrypt_cex4"].filter { !FileManager.default.fileExists(atPath: "/sys/module/" + $0) }.count
        XCTAssertEqual(lines.last, "\(modules + emulatedModules)")
    }

    func testExecEmulatedOnlyKeepsTheOldView() throws {
        let r = try Simulator.exec(["/bin/sh", "-c", "ls /sys; ls /sys/fs"], sysLayout: "emulated")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "bus\nclass\ndevices\nfs\nkernel\nmodule\ncgroup\n")
    }

    func testMountLayoutOverlayAtADirectory() throws {
        let before = try sysMounts()
        let f = try MountFixture(name: "overlay")
        fixtures.append(f)
        try f.start(extraArguments: ["--layout", "overlay"])
        XCTAssertEqual(f.readyLine, "vfio-ap-sim: host 'overlay' ready at \(f.mountpoint) (control: \(f.runtimeDir)/overlay.sock)")
        XCTAssertEqual(try real(f.path("devices/system/cpu/online")), try real("/sys/devices/system/cpu/online"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.path("fs/cgroup")))
        let r = try ProcessRunner.run(["/bin/sh", "-c", """
            cd \(f.mountpoint)
            echo -5 > bus/ap/apmask && cat bus/ap/apmask
            readlink -f bus/ap/devices/card05
            """], timeout: 15)
        XCTAssertEqual(r.stdout, "0xfbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n\(f.mountpoint)/devices/ap/card05\n")
        XCTAssertEqual(r.stderr, "")
        let mounts = ProcFile.read("/proc/self/mountinfo")
        XCTAssertGreaterThan(mounts.components(separatedBy: " \(f.mountpoint)/").count, 10, "binds below the directory")
        XCTAssertEqual(f.stop(), 0)
        let after = ProcFile.read("/proc/self/mountinfo")
        XCTAssertFalse(after.contains(" \(f.mountpoint) ") || after.contains(" \(f.mountpoint)/"), "no stale binds")
        XCTAssertFalse(after.contains(" \(f.runtimeDir)/"), "no scratch mounts")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.mountpoint), [])
        XCTAssertEqual(try sysMounts(), before)
    }

    func testOverlayRefusesTheMachinesSysAndNonEmptyDirectories() throws {
        let root = try TestDirectory.make("overlay-refusals", subdirectories: ["full"])
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/full/x", contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "/sys/kernel")
        for (dir, message) in [("/sys", "refusing to lay an overlay over /sys"),
                               (root + "/link", "refusing to lay an overlay over /sys/kernel"),
                               (root + "/full", "not an empty directory (only empty directories, such as a container runtime's fs/cgroup, may be there)")] {
            let r = try ProcessRunner.run([Simulator.binary, "mount", "--layout", "overlay", "--runtime-dir", root + "/run", dir], timeout: 15)
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, "vfio-ap-sim: \(dir): \(message)\n")
        }
    }
}
