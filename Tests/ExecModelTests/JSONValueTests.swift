import XCTest
import ExecModel

final class JSONValueTests: XCTestCase {
    func testDocument() throws {
        let text = #" {"a":[1,-2.5e2,0,true,false,null],"s":"x\"\\\/\b\f\n\r\t\u003cb\u003e \u00e9 \ud83d\ude00","a":{}} "#
        XCTAssertEqual(try JSONValue.parse(Array(text.utf8)), .object([
            ("a", .array([.number(1), .number(-250), .number(0), .bool(true), .bool(false), .null])),
            ("s", .string("x\"\\/\u{8}\u{c}\n\r\t<b> é 😀")),
            ("a", .object([])),
        ]))
        XCTAssertEqual(try JSONValue.parse(Array(text.utf8))["a"], .object([]), "last duplicate wins")
        XCTAssertEqual(try JSONValue.parse(Array(#""\ud800x""#.utf8)), .string("\u{FFFD}x"))
    }

    func testInvalidDocuments() {
        for text in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", ".5", "1e", "tru", "nul", "\"\u{1}\"",
                     "\"\\x\"", "\"\\u12\"", "{\"a\" 1}", "{a:1}", "[1] 2", "'a'", "NaN", "1e999"] {
            XCTAssertThrowsError(try JSONValue.parse(Array(text.utf8)), text.debugDescription)
        }
    }

    func testDepthBound() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSONValue.parse(Array(deep.utf8)))
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try JSONValue.parse(Array(fine.utf8)))
    }
}
