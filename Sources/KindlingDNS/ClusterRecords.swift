import KindlingAddresses
import KindlingAPI

/// The cluster's DNS zone as the Kubernetes DNS-based service discovery specification defines it, built
/// from Services, EndpointSlices and Pods, and the answer to any question about it. Pure: objects in,
/// records out, so every rule of the specification is a unit test.
///
///     <svc>.<ns>.svc.<zone>            A: the cluster IP; headless: the ready endpoints; ExternalName: CNAME
///     <endpoint>.<svc>.<ns>.svc.<zone> A for each endpoint of a headless service (its hostname, or a-b-c-d)
///     _<port>._<proto>.<svc>.<ns>.svc.<zone>   SRV for each named port
///     a-b-c-d.<ns>.pod.<zone>          A for a pod with that address in that namespace
///     d.c.b.a.in-addr.arpa             PTR for cluster IPs, headless endpoints and pods
///
/// Names below the zone that do not exist get NXDOMAIN, names that exist without the asked type NOERROR
/// with no answer (both with the zone's SOA, RFC 2308); names outside it are not this zone's (the server
/// refuses them, or forwards them where upstreams are configured).
public struct ClusterRecords: Sendable {
    public let zone: DNSName
    /// Reverse lookups are answered (NXDOMAIN included) for these networks; others are refused.
    public let reverseNetworks: [IPv4CIDR]
    /// CoreDNS's kubernetes plugin answers with 5 s TTLs: names follow the cluster closely.
    public static let ttl: UInt32 = 5

    /// The zone's SOA and name server, made once: every negative answer carries the SOA.
    public let soa: DNSMessage.Record
    let nameServer: DNSName
    var records: [DNSName: [RecordData]] = [:]
    /// Every name that exists, including those that only have names below them (`dev.svc.cluster.local`).
    var names: Set<DNSName> = []

    public init(zone: DNSName, reverseNetworks: [IPv4CIDR], services: [Service], slices: [EndpointSlice], pods: [Pod]) {
        self.zone = zone
        self.reverseNetworks = reverseNetworks
        nameServer = (try? zone.prepending("dns").prepending("ns")) ?? zone
        soa = .init(name: zone, ttl: Self.ttl, data: .soa(SOA(primary: nameServer, mailbox: (try? zone.prepending("hostmaster")) ?? zone,
                                                                serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: Self.ttl)))
        var slicesByService: [String: [EndpointSlice]] = [:]
        for slice in slices {
            guard let service = slice.metadata.labels?[EndpointSlice.serviceNameLabel] else { continue }
            slicesByService["\(slice.namespace)/\(service)", default: []].append(slice)
        }
        for service in services where service.metadata.deletionTimestamp == nil {
            addService(service, slices: slicesByService["\(service.namespace)/\(service.name)"] ?? [])
        }
        for pod in pods where pod.metadata.deletionTimestamp == nil {
            guard let text = pod.status?.podIP, let ip = IPv4Address(text),
                  let name = try? zone.prepending("pod").prepending(pod.namespace).prepending(Self.dashed(ip)) else { continue }
            add(name, .a(ip))
            // A headless service's name for the address wins over the pod's.
            if let reverse = try? Self.reverseName(ip), records[reverse] == nil { add(reverse, .ptr(name)) }
        }
    }

    mutating func addService(_ service: Service, slices: [EndpointSlice]) {
        guard let base = try? zone.prepending("svc").prepending(service.namespace).prepending(service.name) else { return }
        touch(base)
        if service.type == "ExternalName" {
            if let target = service.spec.externalName.flatMap({ try? DNSName($0) }) { add(base, .cname(target)) }
            return
        }
        let namedPorts = (service.spec.ports ?? []).filter { !($0.name ?? "").isEmpty }
        if !service.isHeadless, let ip = service.spec.clusterIP.flatMap({ IPv4Address($0) }) {
            add(base, .a(ip))
            if let reverse = try? Self.reverseName(ip) { add(reverse, .ptr(base)) }
            for port in namedPorts {
                if let srv = try? srvName(port.name!, port.protocol ?? "TCP", base) {
                    add(srv, .srv(priority: 0, weight: 100, port: UInt16(port.port), target: base))
                }
            }
            return
        }
        // Headless: every ready endpoint (or every one, with publishNotReadyAddresses) under its own name.
        let publishAll = service.spec.publishNotReadyAddresses == true
        var endpoints: [(name: DNSName, ip: IPv4Address, ports: [EndpointSlice.Port])] = []
        var seen = Set<IPv4Address>()
        for slice in slices {
            for endpoint in slice.endpoints ?? [] where publishAll || (endpoint.conditions?.ready ?? true) {
                guard let ip = endpoint.addresses.first.flatMap({ IPv4Address($0) }), seen.insert(ip).inserted,
                      let name = try? base.prepending(endpoint.hostname ?? Self.dashed(ip)) else { continue }
                endpoints.append((name, ip, slice.ports ?? []))
            }
        }
        for endpoint in endpoints.sorted(by: { $0.ip < $1.ip }) {
            add(base, .a(endpoint.ip))
            add(endpoint.name, .a(endpoint.ip))
            if let reverse = try? Self.reverseName(endpoint.ip) { add(reverse, .ptr(endpoint.name)) }
            for port in endpoint.ports {
                guard let portName = port.name, !portName.isEmpty, let number = port.port,
                      let srv = try? srvName(portName, port.protocol ?? "TCP", base) else { continue }
                add(srv, .srv(priority: 0, weight: UInt16(max(1, 100 / endpoints.count)), port: UInt16(number), target: endpoint.name))
            }
        }
    }

    func srvName(_ port: String, _ proto: String, _ base: DNSName) throws(DNSError) -> DNSName {
        try base.prepending("_" + proto.lowercased()).prepending("_" + port)
    }

    /// Adds a record and makes its name exist.
    mutating func add(_ name: DNSName, _ data: RecordData) {
        if !(records[name]?.contains(data) ?? false) { records[name, default: []].append(data) }
        touch(name)
    }

    /// Makes `name` exist, and every name above it (an existing name's parents exist, RFC 8020). Every
    /// insertion goes through here, so a parent already present means all above it are.
    mutating func touch(_ name: DNSName) {
        var labels = name.labels
        while !labels.isEmpty, names.insert(DNSName(unchecked: labels)).inserted {
            labels.removeFirst()
        }
    }

    /// `10.244.1.5` -> `10-244-1-5`, the label Kubernetes gives an address.
    public static func dashed(_ ip: IPv4Address) -> String { ip.description.replacingDots() }

    /// `10.96.0.20` -> `20.0.96.10.in-addr.arpa`.
    public static func reverseName(_ ip: IPv4Address) throws(DNSError) -> DNSName {
        try DNSName(ip.description.split(separator: ".").reversed().joined(separator: ".") + ".in-addr.arpa")
    }

    static let reverseZone = try! DNSName("in-addr.arpa")

    /// Whether `name` is this server's to answer: the cluster domain, and reverse names of the cluster's
    /// networks. Others are refused, or forwarded where upstreams are configured.
    public func covers(_ name: DNSName) -> Bool {
        name.isSubdomain(of: zone) || name.isSubdomain(of: Self.reverseZone) && reverseNetworks.contains { cidr in
            Self.address(fromReverse: name).map { cidr.contains($0) } ?? false
        }
    }

    /// The response to `query`: one question, standard query, class IN.
    public func answer(_ query: DNSMessage) -> DNSMessage {
        var response = DNSMessage(header: .init(id: query.header.id))
        response.header.isResponse = true
        response.header.opcode = query.header.opcode
        response.header.recursionDesired = query.header.recursionDesired
        response.questions = query.questions
        if query.edns != nil { response.edns = .init(udpPayloadSize: 1232) }
        func fail(_ code: ResponseCode) -> DNSMessage {
            var failed = response
            failed.header.rcode = UInt8(code.rawValue & 0xF)
            return failed
        }
        if let edns = query.edns, edns.version > 0 { return fail(.badVersion) }
        guard query.header.opcode == 0 else { return fail(.notImplemented) }
        guard query.questions.count == 1, let question = query.questions.first else { return fail(.formatError) }
        guard question.recordClass == DNSMessage.classIN || question.recordClass == 255 else { return fail(.refused) }
        let name = question.name

        let inZone = name.isSubdomain(of: zone)
        guard covers(name) else { return fail(.refused) }
        response.header.authoritative = true
        // The server resolves its whole namespace itself, as CoreDNS says it can (nslookup warns otherwise).
        response.header.recursionAvailable = query.header.recursionDesired

        if inZone, name == zone {
            if question.type == .soa || question.type == .any { response.answers = [soa] } else if question.type == .ns {
                response.answers = [.init(name: zone, ttl: Self.ttl, data: .ns(nameServer))]
            } else {
                response.authorities = [soa]
            }
            return response
        }
        let data = records[name] ?? []
        // A CNAME answers every type (RFC 1034 §3.6.2).
        let matching = data.filter { $0.type == question.type || question.type == .any || $0.type == .cname }
        if !matching.isEmpty {
            response.answers = matching.map { .init(name: name, ttl: Self.ttl, data: $0) } + followed(matching, of: name, asked: question.type)
            // SRV answers carry their targets' addresses, as CoreDNS does.
            for case .srv(_, _, _, let target) in matching {
                for case .a(let ip) in records[target] ?? [] {
                    response.additionals.append(.init(name: target, ttl: Self.ttl, data: .a(ip)))
                }
            }
            return response
        }
        response.authorities = [soa]
        if !names.contains(name) { response.header.rcode = UInt8(ResponseCode.nameError.rawValue) }
        return response
    }

    /// What a CNAME to a name inside the zone leads to, in the same answer, as CoreDNS's kubernetes plugin
    /// follows it (an ExternalName service naming another service): the target's records of the type asked, and
    /// its own CNAME in turn, at most `maxChain` deep and never round a loop. Targets outside the zone are left
    /// to the client, which asks again and is forwarded.
    func followed(_ matching: [RecordData], of name: DNSName, asked type: RecordType) -> [DNSMessage.Record] {
        guard type != .cname, type != .any else { return [] }
        var answers: [DNSMessage.Record] = [], seen: Set = [name]
        var next = matching.lazy.compactMap { if case .cname(let target) = $0 { target } else { nil } }.first
        while let target = next, answers.count < Self.maxChain, seen.insert(target).inserted, let data = records[target] {
            next = nil
            for record in data where record.type == type || record.type == .cname {
                answers.append(.init(name: target, ttl: Self.ttl, data: record))
                if case .cname(let further) = record { next = further }
            }
        }
        return answers
    }

    static let maxChain = 10

    /// `20.0.96.10.in-addr.arpa` -> 10.96.0.20; nil for anything else.
    static func address(fromReverse name: DNSName) -> IPv4Address? {
        let labels = name.labels(under: reverseZone)
        guard labels.count == 4 else { return nil }
        return IPv4Address(labels.reversed().joined(separator: "."))
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "-" : $0 }) }
}
