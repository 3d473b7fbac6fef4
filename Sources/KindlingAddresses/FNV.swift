/// FNV-1a, 32 bits: the small, stable hash Kubernetes uses for pod-template hashes, and kindling for names
/// that must be the same after a restart (host-side veths).
public enum FNV1a {
    public static func hash32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}
