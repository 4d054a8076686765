import Sysfs
import XCTest
import SystemPackage
@testable import FuseServer

final class InodeTableTests: XCTestCase {
    func testRootIsOneAndPathsKeepTheirInodeWhileReferenced() {
        let table = InodeTable()
        XCTAssertEqual(table.inode(ofPath: "/"), 1)
        let a = table.remember("/bus", type: .directory, lookups: 1)
        XCTAssertEqual(table.remember("/bus", type: .directory, lookups: 1), a)
        XCTAssertEqual(table.node(a)?.lookups, 2)
        table.forget(a, count: 1)
        XCTAssertEqual(table.inode(ofPath: "/bus"), a)
        table.forget(a, count: 1)
        XCTAssertNil(table.inode(ofPath: "/bus"))
        XCTAssertNil(table.node(a))
        XCTAssertEqual(table.number(ofPath: "/bus"), a, "a node keeps its number while it exists")
        XCTAssertEqual(table.remember("/bus", type: .directory, lookups: 1), a)
        table.forget(1, count: 100)
        XCTAssertEqual(table.node(1)?.path, "/", "root is never forgotten")
    }

    func testRemovedSubtreeIsDetachedButKeptUntilForgotten() {
        let table = InodeTable()
        let dir = table.remember("/d", type: .directory, lookups: 1)
        let file = table.remember("/d/f", type: .regularFile, lookups: 1)
        let listed = table.remember("/d/g", type: .regularFile, lookups: 0)
        let deep = table.remember("/d/e/f", type: .regularFile, lookups: 1)
        let middle = table.remember("/d/e", type: .directory, lookups: 1)
        let sibling = table.remember("/dx", type: .regularFile, lookups: 1)
        XCTAssertEqual(Set(table.knownPaths(below: "/d")), ["/d/f", "/d/g", "/d/e", "/d/e/f"])
        XCTAssertEqual(Set(table.knownChildren(of: "/d")), ["/d/f", "/d/g", "/d/e"])
        XCTAssertEqual(Set(table.detachSubtree("/d")), [dir, file, listed, deep, middle])
        XCTAssertTrue(table.knownPaths(below: "/d").isEmpty)
        XCTAssertNil(table.inode(ofPath: "/d/f"))
        XCTAssertEqual(table.node(file)?.attached, false)
        XCTAssertNil(table.node(listed), "unreferenced inodes go at once")
        XCTAssertEqual(table.inode(ofPath: "/dx"), sibling)
        XCTAssertNotEqual(table.number(ofPath: "/d/f"), file, "a new node at the path gets a new number")
        let again = table.remember("/d/f", type: .regularFile, lookups: 1)
        XCTAssertNotEqual(again, file)
        XCTAssertEqual(table.number(ofPath: "/d/f"), again)
        table.forget(file, count: 1)
        XCTAssertNil(table.node(file))
        XCTAssertEqual(table.inode(ofPath: "/d/f"), again, "forgetting the old inode leaves the new one bound")
    }

    func testReaddirNumbersAreTheLookupNumbersWithoutBinding() {
        let table = InodeTable()
        let listed = table.number(ofPath: "/bus/ap/devices/05.0004")
        XCTAssertEqual(table.count, 1, "only the root is stored")
        XCTAssertEqual(table.remember("/bus/ap/devices/05.0004", type: .symlink, lookups: 1), listed)
        XCTAssertNotEqual(listed, InodeTable.rootInode)
        let before = table.number(ofPath: "/bus/ap/devices/05.0005")
        table.detachSubtree("/bus/ap/devices/05.0005")
        XCTAssertNotEqual(table.number(ofPath: "/bus/ap/devices/05.0005"), before,
                          "a removed name shown by readdir comes back with a new number")
    }

    /// A listing's numbers, taken a batch at a time from the directory's
    /// hash, are what number(ofPath:) gives each entry: for names never
    /// seen, names bound (also to a fallback number after a type change),
    /// names removed (a new incarnation) and the root's children.
    func testListingNumbersAreEachPathsNumber() {
        let table = InodeTable()
        let dir = "/devices/ap/card05"
        let names = ["05.0004", "05.0047", "online", "type", "uevent", "driver"]
        _ = table.remember(dir + "/05.0004", type: .directory, lookups: 1)
        _ = table.remember(dir + "/online", type: .regularFile, lookups: 1)
        _ = table.remember(dir + "/online", type: .directory, lookups: 1)
        table.detachSubtree(dir + "/type")
        table.detachSubtree(dir + "/driver")
        _ = table.remember(dir + "/driver", type: .symlink, lookups: 1)
        XCTAssertEqual(table.numbers(in: dir, names: names), names.map { table.number(ofPath: dir + "/" + $0) })
        XCTAssertEqual(table.numbers(in: "/", names: ["bus", "devices"]), ["/bus", "/devices"].map { table.number(ofPath: $0) })
        let before = table.numbers(in: dir, names: ["uevent"])
        table.detachSubtree(dir + "/uevent")
        XCTAssertNotEqual(table.numbers(in: dir, names: ["uevent"]), before, "a removed name comes back with a new number")
        XCTAssertEqual(Set(table.numbers(in: dir, names: names)).count, names.count)
    }

    func testTypeChangeMeansANewNode() {
        let table = InodeTable()
        let file = table.remember("/x", type: .regularFile, lookups: 1)
        let dir = table.remember("/x", type: .directory, lookups: 1)
        XCTAssertNotEqual(file, dir)
        XCTAssertEqual(table.node(file)?.attached, false)
    }

    func testPaths() {
        XCTAssertEqual(TreePath.join("/", "bus"), "/bus")
        XCTAssertEqual(TreePath.join("/bus", "ap"), "/bus/ap")
        XCTAssertEqual(TreePath.parent("/bus/ap"), "/bus")
        XCTAssertEqual(TreePath.parent("/bus"), "/")
        XCTAssertEqual(TreePath.name("/bus/ap"), "ap")
    }
}

final class OpenFileTests: XCTestCase {
    func testSeqFileReadRules() {
        let file = OpenFile(inode: 2, path: "/a")
        var shows = 0
        let show = { () -> Result<[UInt8], Errno> in shows += 1; return .success(Array("hello\n".utf8)) }
        XCTAssertEqual(try file.read(offset: 0, size: 2, show: show).get(), Array("he".utf8)[...])
        XCTAssertEqual(try file.read(offset: 2, size: 100, show: show).get(), Array("llo\n".utf8)[...])
        XCTAssertEqual(try file.read(offset: 6, size: 100, show: show).get(), [])
        XCTAssertEqual(shows, 1, "sequential reads use the buffer")
        XCTAssertEqual(try file.read(offset: 0, size: 100, show: show).get().count, 6)
        XCTAssertEqual(shows, 2, "offset 0 shows again")
        XCTAssertEqual(try file.read(offset: 3, size: 100, show: show).get(), Array("lo\n".utf8)[...])
        XCTAssertEqual(shows, 3, "a jump shows again (traverse)")
        XCTAssertEqual(try file.read(offset: 40, size: 100, show: show).get(), [])
        let failing = OpenFile(inode: 3, path: "/b")
        XCTAssertThrowsError(try failing.read(offset: 0, size: 1, show: { .failure(.operationNotSupportedByDevice) }).get())
    }
}
