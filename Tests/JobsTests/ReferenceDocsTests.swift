import Foundation
import Testing
import Diffusion
@testable import Jobs

/// docs/reference.md cannot drift from the code: every registered method, dynamics and noise
/// law has its section, each section's key table lists exactly the keys the code reads, and
/// no section names a method, dynamics or noise law that does not exist.
struct ReferenceDocsTests {
    /// The sections `### <kind> \`name\`` of docs/reference.md with the keys of their tables
    /// (rows that start with `` | `key` | ``).
    static func sections() throws -> [String: [String]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/reference.md"), encoding: .utf8)
        var sections: [String: [String]] = [:]
        var current: String? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                current = nil
                for prefix in ["### method `", "### dynamics `", "### noise law `"] where line.hasPrefix(prefix) {
                    let kind = prefix.dropFirst(4).dropLast(2)
                    let name = line.dropFirst(prefix.count).prefix { $0 != "`" }
                    current = "\(kind) \(name)"
                    #expect(sections[current!] == nil, "docs/reference.md has two sections '\(current!)'")
                    sections[current!] = []
                }
                if line == "### experiment" { current = "experiment"; sections["experiment"] = [] }
            } else if let current, line.hasPrefix("| `") {
                sections[current]!.append(String(line.dropFirst(3).prefix { $0 != "`" }))
            }
        }
        return sections
    }

    @Test func everyMethodDynamicsAndNoiseLawIsDocumentedWithExactlyItsKeys() throws {
        let sections = try Self.sections()
        var expected: [String: [String]] = ["experiment": ExperimentSpec.commonKeys]
        for method in MethodRegistry.all { expected["method \(method.name)"] = method.keys }
        for dynamics in DynamicsKind.allCases { expected["dynamics \(dynamics.rawValue)"] = ExperimentSpec.keys(of: dynamics) }
        for law in NoiseLawKind.allCases { expected["noise law \(law.rawValue)"] = ExperimentSpec.noiseKeys[law]! }
        for (section, keys) in expected.sorted(by: { $0.key < $1.key }) {
            guard let documented = sections[section] else {
                Issue.record("docs/reference.md lacks the section for \(section)")
                continue
            }
            #expect(Set(documented) == Set(keys), "docs/reference.md, \(section): documents \(documented.sorted()), the code reads \(keys.sorted())")
        }
        for section in sections.keys where expected[section] == nil {
            Issue.record("docs/reference.md documents \(section), which does not exist")
        }
    }

    /// The parser of this test finds what it should: a section list that is empty or
    /// keyless would make the test above pass vacuously for no-key sections.
    @Test func theParserReadsTheTables() throws {
        let sections = try Self.sections()
        #expect(sections.count == 1 + MethodRegistry.all.count + DynamicsKind.allCases.count + NoiseLawKind.allCases.count)
        #expect(sections["method monte-carlo"]?.contains("paths") == true)
    }
}
