import Foundation
import KindlingAPI
import KindlingCluster
import KindlingNet
import Testing

@Suite(.enabled(if: isRoot, "needs root: creates network namespaces"))
struct ClusterLifecycleTests {
    @Test func nodesReachEachOtherOverTheUnderlay() throws {
        let linksBefore = try rootLinks()
        let cluster = try TestCluster("ping", yaml: ClusterLifecycleTests.seed002)
        defer { cluster.teardown() }

        // The underlay, three nodes and the external client.
        #expect(cluster.leftovers.count == 5)
        for from in cluster.topology.nodes {
            let addresses = try from.netns.run { try $0.addresses(device: "eth0") }
            #expect(addresses == [from.address])
            let external = try inNetns(cluster.topology.external, ["ping", "-c", "1", "-W", "1", from.address.address.description])
            #expect(external.status == 0, "external client -> \(from.name): \(external.output)")
            for to in cluster.topology.nodes where to != from {
                let ping = try inNetns(from.netns, ["ping", "-c", "1", "-W", "1", to.address.address.description])
                #expect(ping.status == 0, "\(from.name) -> \(to.name): \(ping.output)")
            }
        }
        // Nothing was added to the root namespace, and no node has a default route out.
        #expect(try rootLinks() == linksBefore)
        for node in cluster.topology.nodes {
            let routes = try inNetns(node.netns, ["ip", "-4", "route", "show", "default"])
            #expect(routes.output.isEmpty, "\(node.name) has a default route: \(routes.output)")
        }
    }

    @Test func createRefusesAnExistingClusterAndChangesNothing() throws {
        let cluster = try TestCluster("dup")
        defer { cluster.teardown() }
        let before = cluster.leftovers
        #expect(throws: ClusterProvisioner.AlreadyExists.self) { _ = try cluster.provisioner.create(cluster.config) }
        #expect(cluster.leftovers == before)
        let stillThere = try inNetns(cluster.topology.nodes[1].netns, ["ping", "-c", "1", "-W", "1", "172.18.0.2"])
        #expect(stillThere.status == 0)
    }

    @Test func deleteFindsEverythingByPrefixWithoutAStateFile() throws {
        let cluster = try TestCluster("crash")
        defer { cluster.teardown() }
        // As if the machine crashed mid-create: a stray pod namespace and no state directory.
        try NetNamespace.create(cluster.topology.names.netnsPrefix + "pod.default.stray")
        try FileManager.default.removeItem(atPath: ClusterState(cluster: cluster.config.name, stateRoot: cluster.scratch + "/state").directory)

        let teardown = try cluster.provisioner.delete(cluster: cluster.config.name)
        #expect(teardown.namespaces.count == 5)
        #expect(cluster.leftovers.isEmpty)
        #expect(try sh(["ip", "netns", "list"]).output.contains(cluster.topology.names.netnsPrefix) == false)
        // Deleting again is fine, as in kind.
        #expect(try cluster.provisioner.delete(cluster: cluster.config.name).namespaces.isEmpty)
    }

    static let seed002 = """
        kind: Cluster
        apiVersion: kind.x-k8s.io/v1alpha4
        nodes:
        - role: control-plane
        - role: worker
        - role: worker
        """
}
