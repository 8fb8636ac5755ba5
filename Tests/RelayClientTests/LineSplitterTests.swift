import Testing
@testable import RelayClient

struct LineSplitterTests {
    func feed(_ splitter: inout LineSplitter, _ text: String) -> [LineSplitter.Item] {
        Array(text.utf8).withUnsafeBytes { splitter.feed($0) }
    }

    @Test func linesSplitAcrossReadsComeOutWhole() {
        var splitter = LineSplitter(maximumLineCount: 100)
        #expect(feed(&splitter, "hel") == [])
        #expect(feed(&splitter, "lo\nwor") == [.line(Array("hello".utf8))])
        #expect(feed(&splitter, "ld\n\nlast") == [.line(Array("world".utf8)), .line([])])
        #expect(splitter.finish() == .line(Array("last".utf8)))
        #expect(splitter.finish() == nil)
    }

    @Test func anOverlongLineIsReportedAndSkippedWhole() {
        var splitter = LineSplitter(maximumLineCount: 5)
        #expect(feed(&splitter, "abcd") == [])
        #expect(feed(&splitter, "efgh") == [])
        #expect(feed(&splitter, "ij\nok\n") == [.overlong(byteCount: 10), .line(Array("ok".utf8))])
        #expect(feed(&splitter, "12345\n") == [.line(Array("12345".utf8))])
        #expect(feed(&splitter, "123456") == [])
        #expect(splitter.finish() == .overlong(byteCount: 6))
    }
}

struct DisplayTextTests {
    @Test func controlCharactersAndInvalidUTF8AreMadeSafe() {
        #expect(DisplayText.line(from: Array("plain text\twith tab".utf8)) == "plain text\twith tab")
        #expect(DisplayText.line(from: Array("\u{1B}[2Jclear".utf8)) == "\u{FFFD}[2Jclear")
        #expect(DisplayText.line(from: [0x61, 0x0A, 0x62, 0x0D]) == "a\u{FFFD}b\u{FFFD}")
        #expect(DisplayText.line(from: [0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(DisplayText.line(from: Array("\u{9B}x zoë 名前".utf8)) == "\u{FFFD}x zoë 名前")
    }
}
