import Foundation
import KindlingAPI
import Testing

/// CEL as Kubernetes' validation rules use it, table-driven from the language definition: precedence, the
/// operators' types and errors, macros, and the string and list functions.
@Suite struct CELTests {
    static let object = CELValue(foundation: [
        "replicas": 3, "maxReplicas": 5, "name": "web-frontend", "ratio": 0.5, "enabled": true,
        "ports": [80, 443], "labels": ["app": "web", "tier": "front"], "tags": ["b", "a"],
        "containers": [["name": "nginx", "image": "nginx:1.25"], ["name": "sidecar", "image": "busybox"]],
    ] as [String: Any])

    func run(_ rule: String, old: CELValue? = nil) throws -> CELValue {
        var variables = ["self": Self.object]
        if let old { variables["oldSelf"] = old }
        return try CELParser.parse(rule).evaluate(variables)
    }

    @Test(arguments: [
        ("self.replicas <= self.maxReplicas", CELValue.bool(true)),
        ("1 + 2 * 3 - 4 / 2 % 3", .int(5)),
        ("(1 + 2) * 3", .int(9)),
        ("-self.replicas", .int(-3)),
        ("self.ratio * 2.0", .double(1)),
        ("self.replicas == 3.0", .bool(true)),
        ("self.replicas < 3.5", .bool(true)),
        ("'web' + '-' + \"frontend\" == self.name", .bool(true)),
        ("self.name.startsWith('web') && self.name.endsWith('end') && self.name.contains('-fr')", .bool(true)),
        ("self.name.matches('^[a-z]+-[a-z]+$')", .bool(true)),
        ("!self.enabled || self.replicas > 10", .bool(false)),
        ("self.enabled ? 'on' : 'off'", .string("on")),
        ("443 in self.ports && 'app' in self.labels && !('x' in self.labels)", .bool(true)),
        ("self.labels.app", .string("web")),
        ("self.labels['tier']", .string("front")),
        ("self.ports[1]", .int(443)),
        ("size(self.ports) + self.containers.size() + size('héllo')", .int(9)),
        ("has(self.labels.app) && !has(self.labels.zone)", .bool(true)),
        ("self.containers.all(c, c.image != '')", .bool(true)),
        ("self.containers.exists(c, c.name == 'sidecar')", .bool(true)),
        ("self.containers.exists_one(c, c.image.startsWith('nginx'))", .bool(true)),
        ("self.containers.map(c, c.name)", .list([.string("nginx"), .string("sidecar")])),
        ("self.ports.filter(p, p > 100)", .list([.int(443)])),
        ("self.ports.map(p, p > 100, p * 2)", .list([.int(886)])),
        ("self.labels.all(k, k.size() > 2)", .bool(true)),
        ("self.tags.isSorted()", .bool(false)),
        ("[1, 2, 3].sum() == 6 && [3, 1, 2].min() == 1 && [3, 1, 2].max() == 3", .bool(true)),
        ("'a,b,c'.split(',').join('-')", .string("a-b-c")),
        ("' x '.trim() + 'AbC'.lowerAscii() + 'abc'.upperAscii()", .string("xabcABC")),
        ("'hello'.substring(1, 3) + 'hello'.replace('l', 'L') + string('hello'.indexOf('l'))", .string("elheLLo2")),
        ("int('42') + int(2.9) + int(7u)", .int(51)),
        ("double(1) / 4.0", .double(0.25)),
        ("string(1.5) + string(true)", .string("1.5true")),
        ("{'a': 1, 'b': 2}['b'] == 2 && [1, 2] + [3] == [1, 2, 3]", .bool(true)),
        ("r'\\d+' == '\\\\d+' && '''multi\nline'''.size() == 10 && '\\x41\\u00e9' == 'Aé'", .bool(true)),
        ("0x10 + 3u == 19u || true", .bool(true)),
        ("self.missing == 1 || true", .bool(true)),
        ("false && self.missing == 1", .bool(false)),
    ])
    func rulesEvaluateAsCELDefinesThem(rule: String, expected: CELValue) throws {
        #expect(try run(rule) == expected, "\(rule)")
    }

    @Test(arguments: [
        ("self.missing", "no such key: missing"),
        ("self.ports[5]", "index out of range: 5"),
        ("1 / 0", "division by zero"),
        ("9223372036854775807 + 1", "integer overflow"),
        ("self.replicas + 0.5", "no such overload: _+_(int, double)"),
        ("self.name > 1", "no such overload: _>_(string, int)"),
        ("self.missing == 1 && true", "no such key: missing"),
        ("size(1)", "no such overload: size(int)"),
        ("nope", "undeclared reference to 'nope'"),
        ("has(self)", "invalid argument to has() macro"),
    ])
    func failuresAreCELErrors(rule: String, message: String) throws {
        #expect(throws: CELError(message)) { try run(rule) }
    }

    @Test(arguments: [
        ("self.replicas <", "ERROR: <input>:1:16: Syntax error: mismatched input '<EOF>' expecting an expression"),
        ("self.a)", "ERROR: <input>:1:7: Syntax error: extraneous input ')'"),
        ("'unterminated", "ERROR: <input>:1:1: Syntax error: token recognition error: unterminated string"),
        ("self.x # 1", "ERROR: <input>:1:8: Syntax error: token recognition error at: '#'"),
        ("f(1,", "ERROR: <input>:1:5: Syntax error: mismatched input '<EOF>' expecting an expression"),
    ])
    func syntaxErrorsSayWhere(rule: String, message: String) {
        #expect(throws: (any Error).self) { try CELParser.parse(rule) }
        do { _ = try CELParser.parse(rule) } catch { #expect(error.description == message, "\(rule)") }
    }

    @Test func transitionRulesSeeTheOldValue() throws {
        #expect(try run("self.replicas >= oldSelf.replicas", old: CELValue(foundation: ["replicas": 2] as [String: Any])) == .bool(true))
        #expect(try CELParser.parse("self == oldSelf").mentions("oldSelf"))
        #expect(try !CELParser.parse("self.replicas > 1").mentions("oldSelf"))
    }
}

/// `x-kubernetes-validations` in a CRD's schema: rules on objects, fields and transitions, in apiextensions'
/// words, and rules that do not compile keeping the CRD out.
@Suite struct ValidationRuleTests {
    static let schema = """
        {"type":"object","properties":{"spec":{"type":"object",
          "x-kubernetes-validations":[
            {"rule":"self.replicas <= self.maxReplicas","message":"replicas must not exceed maxReplicas"},
            {"rule":"!has(self.mode) || self.mode != 'locked' || self.replicas == 1","message":"locked runs one","reason":"FieldValueForbidden","fieldPath":".replicas"},
            {"rule":"!has(self.extra) || self.extra.missing == 1"}],
          "properties":{
            "replicas":{"type":"integer","x-kubernetes-validations":[{"rule":"self >= oldSelf","message":"replicas may not decrease"}]},
            "maxReplicas":{"type":"integer"},
            "mode":{"type":"string"},
            "extra":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
            "image":{"type":"string","x-kubernetes-validations":[{"rule":"self.startsWith('img-')"}]},
            "when":{"type":"string","format":"date-time"},
            "owner":{"type":"string","format":"email"},
            "limit":{"type":"integer","x-kubernetes-validations":[{"rule":"self < 100","messageExpression":"'limit ' + string(self) + ' is over 99'"}]},
            "template":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}}}
        """

    func errors(_ object: String, old: String? = nil) throws -> [String] {
        let schema = CustomResourceSchema(try KubeJSON.decoder.decode(JSONValue.self, from: Data(Self.schema.utf8)))
        func tree(_ json: String) throws -> [String: Any] { try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:] }
        return try schema.errors(in: try tree(object), old: try old.map(tree)).map(\.description)
    }

    @Test func rulesReportInApiextensionsWords() throws {
        #expect(try errors(#"{"spec":{"replicas":2,"maxReplicas":3,"image":"img-a"}}"#).isEmpty)
        #expect(try errors(#"{"spec":{"replicas":4,"maxReplicas":3}}"#) == [#"spec: Invalid value: "object": replicas must not exceed maxReplicas"#])
        #expect(try errors(#"{"spec":{"replicas":2,"maxReplicas":3,"mode":"locked"}}"#) == ["spec.replicas: Forbidden: locked runs one"])
        #expect(try errors(#"{"spec":{"replicas":1,"maxReplicas":3,"image":"nginx"}}"#)
                == [#"spec.image: Invalid value: "string": failed rule: self.startsWith('img-')"#])
        #expect(try errors(#"{"spec":{"replicas":1,"maxReplicas":3,"extra":{}}}"#)
                == [#"spec: Invalid value: "object": no such key: missing evaluating rule: !has(self.extra) || self.extra.missing == 1"#])
    }

    @Test func formatsEmbeddedResourcesAndMessageExpressions() throws {
        let fine = #"{"spec":{"replicas":1,"maxReplicas":3,"when":"2026-12-07T21:00:00Z","owner":"ops@example.com","template":{"apiVersion":"v1","kind":"Pod"}}}"#
        #expect(try errors(fine).isEmpty)
        #expect(try errors(#"{"spec":{"replicas":1,"maxReplicas":3,"when":"yesterday","owner":"nobody"}}"#) == [
            #"spec.owner: Invalid value: "nobody": spec.owner in body must be of type email: "nobody""#,
            #"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#,
        ])
        #expect(try errors(#"{"spec":{"replicas":1,"maxReplicas":3,"template":{"kind":"Pod"}}}"#)
                == ["spec.template.apiVersion: Required value: must not be empty for embedded resources"])
        #expect(try errors(#"{"spec":{"replicas":1,"maxReplicas":3,"limit":120}}"#) == [#"spec.limit: Invalid value: "integer": limit 120 is over 99"#])
    }

    @Test(arguments: [
        ("2026-12-07T21:00:00.5+01:00", "date-time", true), ("2026-13-01", "date", false), ("2026-12-07", "date", true),
        ("0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b", "uuid4", true), ("0f1e2d3c-4b5a-3978-8a6b-5c4d3e2f1a0b", "uuid4", false),
        ("web-1.example.com", "hostname", true), ("-web", "hostname", false), ("10.0.0.1", "ipv4", true), ("10.0.0.256", "ipv4", false),
        ("fd00::1", "ipv6", true), ("10.0.0.0/8", "cidr", true), ("10.0.0.0/33", "cidr", false), ("aa:bb:cc:dd:ee:ff", "mac", true),
        ("aGVsbG8=", "byte", true), ("not base64!", "byte", false), ("https://example.com/x", "uri", true), ("1h30m", "duration", true),
        ("#a0b", "hexcolor", true), ("anything", "password", nil), ("whatever", "no-such-format", nil),
    ] as [(String, String, Bool?)])
    func stringFormats(text: String, format: String, expected: Bool?) {
        #expect(StringFormat.matches(text, format: format) == expected, "\(text) as \(format)")
    }

    @Test func transitionRulesRunOnUpdatesOnly() throws {
        let lower = #"{"spec":{"replicas":1,"maxReplicas":3}}"#
        #expect(try errors(lower).isEmpty, "no old value on create")
        #expect(try errors(lower, old: #"{"spec":{"replicas":2,"maxReplicas":3}}"#) == [#"spec.replicas: Invalid value: "integer": replicas may not decrease"#])
        #expect(try errors(lower, old: #"{"spec":{"maxReplicas":3}}"#).isEmpty, "no old value for the field")
    }

    @Test func rulesThatDoNotCompileKeepTheDefinitionOut() throws {
        let broken = #"{"type":"object","properties":{"spec":{"type":"object","x-kubernetes-validations":[{"rule":"self.x <"},{"rule":"true","reason":"Nope"}]}}}"#
        let schema = CustomResourceSchema(try KubeJSON.decoder.decode(JSONValue.self, from: Data(broken.utf8)))
        #expect(schema.structuralErrors(path: "spec.versions[0].schema.openAPIV3Schema").map(\.description) == [
            #"spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: "self.x <": compilation failed: ERROR: <input>:1:9: Syntax error: mismatched input '<EOF>' expecting an expression"#,
            #"spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].reason: Unsupported value: "Nope": supported values: "FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate""#,
        ])
    }
}
