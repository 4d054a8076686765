import APCore
import Foundation
import MatrixPicture
import XCTest

/// The JSON document: its stable layout, and that it reads back as it was.
final class PictureJSONTests: XCTestCase {
    func testLayoutAndRoundTrip() throws {
        let host = try Hosts.sourceWithGuest()
        let p = host.read { MatrixPicture($0, name: host.name) }
        let text = PictureJSON.encode(p)
        XCTAssertEqual(text, """
            {
              "adapters": [5,6],
              "cells": [
                {"adapter":5,"apqn":"05.0004","domain":4,"mdev":"A","owner":"mdev","state":"online","use":"in-use"},
                {"adapter":5,"apqn":"05.00ab","domain":171,"mdev":"A","owner":"mdev","state":"online","use":"in-use"},
                {"adapter":6,"apqn":"06.0004","domain":4,"mdev":"A","owner":"mdev","state":"online","use":"in-use"},
                {"adapter":6,"apqn":"06.00ab","domain":171,"mdev":"A","owner":"mdev","state":"online","use":"in-use"}
              ],
              "domains": [4,171],
              "host": "migration-source",
              "mdevs": [
                {"guest":"g1","guest_state":"running","letter":"A","uuid":"62177883-f1bb-47f0-914d-32a22e3a8804"}
              ],
              "version": 1
            }

            """)
        XCTAssertEqual(try PictureJSON.decode(text), p)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testEveryCellOfALargeHostReadsBack() throws {
        let host = try Hosts.topology("large.yaml")
        let p = host.read { MatrixPicture($0, name: host.name) }
        XCTAssertEqual(try PictureJSON.decode(PictureJSON.encode(p)), p)
    }

    func testAForeignDocumentIsRefused() {
        XCTAssertThrowsError(try PictureJSON.decode("{}"))
        XCTAssertThrowsError(try PictureJSON.decode(#"{"adapters":[1],"cells":[],"domains":[1],"host":"h","mdevs":[],"version":1}"#))
    }

    func testMdevLettersGoOnPastZ() throws {
        let host = try Hosts.default()
        let uuids = (0..<28).map { String(format: "00000000-0000-4000-8000-%012d", $0) }
        try host.update { s in for u in uuids { try s.createMdev(uuid: u) } }
        let p = host.read { MatrixPicture($0, name: host.name) }
        XCTAssertEqual(p.mdevs.map(\.letter).suffix(4), ["Y", "Z", "AA", "AB"])
    }
}
