import KindlingAPI

/// One kind's `kubectl get` columns (Kubernetes' printers.go), as a pure function of an object and the time.
/// `Printers` holds one per kind; the CLI's text and the server's Table both come from it.
public protocol ObjectPrinter<Object>: Sendable {
    associatedtype Object: APIObject
    /// Every column in order; the `wide` ones print only with `-o wide` (priority 1 in the server's Table).
    var columns: [PrintColumn] { get }
    /// One cell per column, the wide ones included.
    func cells(_ object: Object, _ context: PrintContext) -> [String]
}

public struct PrintColumn: Sendable, Equatable {
    public var name: String
    public var wide: Bool
    /// printers.go declares it an integer: the server's Table carries its cells as numbers.
    public var integer: Bool

    public init(_ name: String, wide: Bool = false, integer: Bool = false) {
        self.name = name
        self.wide = wide
        self.integer = integer
    }

    /// Columns that print only with `-o wide`.
    public static func wide(_ names: String...) -> [PrintColumn] { names.map { PrintColumn($0, wide: true) } }
}

/// What cells need besides the object: the current time and how to read a timestamp.
public struct PrintContext {
    public let now: Double
    public let parseTime: (String) -> Double?

    public init(now: Double, parseTime: @escaping (String) -> Double?) {
        self.now = now
        self.parseTime = parseTime
    }

    /// The AGE column: time since creation, as kubectl's HumanDuration.
    public func age(_ metadata: ObjectMeta) -> String { since(metadata.creationTimestamp) }

    public func since(_ time: String?) -> String {
        time.flatMap(parseTime).map { Printing.humanDuration(seconds: Int(now - $0)) } ?? "<unknown>"
    }
}

/// NAME and AGE: what kubectl prints for a kind without columns of its own.
public struct NameAgePrinter<Object: APIObject>: ObjectPrinter {
    public init() {}
    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("AGE")] }
    public func cells(_ object: Object, _ context: PrintContext) -> [String] { [object.name, context.age(object.metadata)] }
}

/// The printer of each kind, as Kubernetes' table generator keeps its print handlers by type; NAME and AGE for a
/// kind without one.
public enum Printers {
    static let byType: [ObjectIdentifier: any Sendable] = [
        ObjectIdentifier(Pod.self): PodPrinter(), ObjectIdentifier(ReplicaSet.self): ReplicaSetPrinter<ReplicaSet>(),
        ObjectIdentifier(ReplicationController.self): ReplicaSetPrinter<ReplicationController>(),
        ObjectIdentifier(Deployment.self): DeploymentPrinter(), ObjectIdentifier(Service.self): ServicePrinter(),
        ObjectIdentifier(Endpoints.self): EndpointsPrinter(), ObjectIdentifier(EndpointSlice.self): EndpointSlicePrinter(),
        ObjectIdentifier(NetworkPolicy.self): NetworkPolicyPrinter(), ObjectIdentifier(Ingress.self): IngressPrinter(),
        ObjectIdentifier(IngressClass.self): IngressClassPrinter(), ObjectIdentifier(Node.self): NodePrinter(),
        ObjectIdentifier(Namespace.self): NamespacePrinter(), ObjectIdentifier(Event.self): EventPrinter(),
        ObjectIdentifier(Lease.self): LeasePrinter(), ObjectIdentifier(ConfigMap.self): ConfigMapPrinter(),
        ObjectIdentifier(Secret.self): SecretPrinter(), ObjectIdentifier(CustomResourceDefinition.self): CustomResourceDefinitionPrinter(),
        ObjectIdentifier(ServiceAccount.self): ServiceAccountPrinter(), ObjectIdentifier(APIService.self): APIServicePrinter(),
        ObjectIdentifier(Job.self): JobPrinter(), ObjectIdentifier(CronJob.self): CronJobPrinter(), ObjectIdentifier(DaemonSet.self): DaemonSetPrinter(),
        ObjectIdentifier(StatefulSet.self): StatefulSetPrinter(), ObjectIdentifier(PersistentVolumeClaim.self): PersistentVolumeClaimPrinter(),
        ObjectIdentifier(PersistentVolume.self): PersistentVolumePrinter(), ObjectIdentifier(StorageClass.self): StorageClassPrinter(),
        ObjectIdentifier(PodDisruptionBudget.self): PodDisruptionBudgetPrinter(),
        ObjectIdentifier(Role.self): RolePrinter<Role>(), ObjectIdentifier(ClusterRole.self): RolePrinter<ClusterRole>(),
        ObjectIdentifier(RoleBinding.self): BindingPrinter<RoleBinding> { ($0.roleRef, $0.subjects ?? []) },
        ObjectIdentifier(ClusterRoleBinding.self): BindingPrinter<ClusterRoleBinding> { ($0.roleRef, $0.subjects ?? []) },
    ]

    public static func printer<T: APIObject>(for type: T.Type) -> any ObjectPrinter<T> {
        ownPrinter(for: T.self) ?? NameAgePrinter<T>()
    }

    /// The kind's own printer, nil when it has none.
    public static func ownPrinter<T: APIObject>(for type: T.Type) -> (any ObjectPrinter<T>)? {
        byType[ObjectIdentifier(T.self)] as? any ObjectPrinter<T>
    }
}

extension Printing {
    /// `kubectl get <kind>` (and `-o wide`), with a NAMESPACE column first when listing all namespaces.
    public static func table<T: KubeObject>(_ objects: [T], wide: Bool, withNamespace: Bool, now: Double,
                                           parseTime: @escaping (String) -> Double?) -> ObjectTable {
        let printer = Printers.printer(for: T.self), context = PrintContext(now: now, parseTime: parseTime)
        let columns = printer.columns, shown = columns.map { wide || !$0.wide }
        func kept<V>(_ values: [V]) -> [V] { zip(values, shown).filter(\.1).map(\.0) }
        var headers = kept(columns.map(\.name))
        var rows = objects.map { kept(printer.cells($0, context)) }
        if withNamespace && T.namespaced {
            headers.insert("NAMESPACE", at: 0)
            rows = zip(objects, rows).map { [$0.namespace] + $1 }
        }
        return ObjectTable(headers: headers, rows: rows)
    }
}
