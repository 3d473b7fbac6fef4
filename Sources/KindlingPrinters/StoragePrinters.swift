import KindlingAPI

/// `kubectl get statefulsets`: ready of desired; `-o wide` adds containers and images.
public struct StatefulSetPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] { [PrintColumn("NAME"), PrintColumn("READY"), PrintColumn("AGE")] + PrintColumn.wide("CONTAINERS", "IMAGES") }

    public func cells(_ set: StatefulSet, _ context: PrintContext) -> [String] {
        [set.name, "\(set.status?.readyReplicas ?? 0)/\(set.spec.replicas ?? 1)", context.age(set.metadata)] + Printing.containerColumns(set.spec.template.spec)
    }
}

/// `kubectl get pvc`: phase, volume, capacity, access modes as kubectl abbreviates them, class.
public struct PersistentVolumeClaimPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"].map { PrintColumn($0) }
            + PrintColumn.wide("VOLUMEMODE")
    }

    public func cells(_ claim: PersistentVolumeClaim, _ context: PrintContext) -> [String] {
        let bound = claim.status?.phase == "Bound"
        return [claim.name, claim.status?.phase ?? "Pending", claim.spec.volumeName ?? "", bound ? claim.status?.capacity?["storage"] ?? "" : "",
                bound ? StoragePrinting.modes(claim.status?.accessModes) : "", claim.spec.storageClassName ?? "<unset>", "<unset>",
                context.age(claim.metadata), claim.spec.volumeMode ?? "Filesystem"]
    }
}

/// `kubectl get pv`: capacity, access modes, reclaim policy, phase, the claim bound to it, class.
public struct PersistentVolumePrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
            .map { PrintColumn($0) } + PrintColumn.wide("VOLUMEMODE")
    }

    public func cells(_ volume: PersistentVolume, _ context: PrintContext) -> [String] {
        let claim = volume.spec.claimRef.map { "\($0.namespace ?? "")/\($0.name ?? "")" } ?? ""
        return [volume.name, volume.spec.capacity?["storage"] ?? "", StoragePrinting.modes(volume.spec.accessModes),
                volume.spec.persistentVolumeReclaimPolicy ?? "", volume.status?.phase ?? "", claim, volume.spec.storageClassName ?? "",
                "<unset>", volume.status?.reason ?? "", context.age(volume.metadata), volume.spec.volumeMode ?? "Filesystem"]
    }
}

/// `kubectl get storageclasses`: the default one marked `(default)`.
public struct StorageClassPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"].map { PrintColumn($0) }
    }

    public func cells(_ storageClass: StorageClass, _ context: PrintContext) -> [String] {
        [storageClass.name + (storageClass.isDefault ? " (default)" : ""), storageClass.provisioner, storageClass.reclaimPolicy ?? "Delete",
         storageClass.volumeBindingMode ?? "Immediate", String(storageClass.allowVolumeExpansion ?? false), context.age(storageClass.metadata)]
    }
}

enum StoragePrinting {
    /// kubectl's short names of access modes, comma-separated.
    static func modes(_ modes: [String]?) -> String {
        let short = ["ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"]
        return (modes ?? []).map { short[$0] ?? $0 }.joined(separator: ",")
    }
}

/// `kubectl get pdb`: minAvailable or maxUnavailable (N/A for the one unset), disruptions allowed now.
public struct PodDisruptionBudgetPrinter: ObjectPrinter {
    public init() {}

    public var columns: [PrintColumn] {
        [PrintColumn("NAME"), PrintColumn("MIN AVAILABLE"), PrintColumn("MAX UNAVAILABLE"), PrintColumn("ALLOWED DISRUPTIONS", integer: true), PrintColumn("AGE")]
    }

    public func cells(_ budget: PodDisruptionBudget, _ context: PrintContext) -> [String] {
        [budget.name, budget.spec.minAvailable?.description ?? "N/A", budget.spec.maxUnavailable?.description ?? "N/A",
         String(budget.status?.disruptionsAllowed ?? 0), context.age(budget.metadata)]
    }
}
