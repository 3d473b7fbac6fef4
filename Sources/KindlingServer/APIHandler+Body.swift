import Foundation
import KindlingAPI
import KindlingMachinery

/// Request bodies: size limits, JSON, protobuf, and the fields a body has that its kind has not.
extension APIHandler {
    /// The body's size checked: present, and at most `maxBodySize`.
    func checkBody(_ request: APIRequest) throws {
        guard !request.body.isEmpty else { throw Status.badRequest("the request has no body") }
        guard request.body.count <= APIHandler.maxBodySize else { throw APIHandler.tooLarge }
    }

    /// A patch's body as a JSON value; anything else is the client's error (400), as Kubernetes answers it.
    func jsonBody(_ request: APIRequest) throws -> Any {
        try checkBody(request)
        do {
            return try JSONSerialization.jsonObject(with: request.body, options: [.fragmentsAllowed])
        } catch {
            throw Status.badRequest("the body of the request could not be decoded as JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)")
        }
    }

    /// A body that is not a stored kind's object (a TokenRequest, a Scale) as a `T`, from JSON or protobuf.
    /// `filling` names top-level objects an absent one stands for empty: a review's `metadata` and `spec`, which
    /// clients may leave out (what the spec must hold is its validation's question).
    func decodeJSON<T: Decodable>(_ type: T.Type, _ request: APIRequest, kind: String, version: String, filling: [String] = []) throws -> T {
        try checkBody(request)
        var body = request.body
        do {
            if request.contentType?.hasPrefix(KubeProtobuf.mediaType) == true {
                body = try JSONSerialization.data(withJSONObject: try KubeProtobuf.decode(request.body))
            }
            if !filling.isEmpty, var tree = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
                for field in filling where tree[field] == nil || tree[field] is NSNull { tree[field] = [String: Any]() }
                body = try JSONSerialization.data(withJSONObject: tree)
            }
            return try KubeJSON.decoder.decode(T.self, from: body)
        } catch let failure as KubeProtobuf.Failure {
            throw Status.badRequest("the body of the request could not be decoded: \(failure.description)")
        } catch let error as DecodingError {
            throw Status.badRequest("\(kind) in version \"\(version)\" cannot be handled as a \(kind): \(error.fieldDescription)")
        }
    }

    /// The body as an object of `kind`, with the warnings for the fields it has that the kind has not (an error
    /// under `fieldValidation=Strict`).
    func decodeBody<S: KindStrategy>(_ kind: S, _ request: APIRequest) throws -> (S.Object, [String]) {
        let served = kind.served
        try checkBody(request)
        let validation = try FieldValidation(parameter: request.query["fieldValidation"])
        var body = request.body
        var tree: Any?
        // kubectl's create commands send protobuf, and never retry as JSON.
        if request.contentType?.hasPrefix(KubeProtobuf.mediaType) == true {
            do {
                tree = try KubeProtobuf.decode(request.body)
                body = try JSONSerialization.data(withJSONObject: tree!)
            } catch let failure as KubeProtobuf.Failure {
                throw Status.badRequest("the body of the request could not be decoded: \(failure.description)")
            }
        }
        var object: S.Object
        do {
            object = try KubeJSON.decoder.decode(S.Object.self, from: body)
            kind.decoded(&object)
        } catch let error as DecodingError {
            // kube-apiserver's words for a body its decoder refuses.
            throw Status.badRequest("\(served.kind) in version \"\(served.version)\" cannot be handled as a \(served.kind): \(error.fieldDescription)")
        }
        if let version = object.apiVersion, version != served.apiVersion {
            throw Status.badRequest("the API version in the data (\(version)) does not match the expected API version (\(served.apiVersion))")
        }
        if let named = object.kind, named != served.kind {
            throw Status.badRequest("the kind in the data (\(named)) does not match the expected kind (\(served.kind))")
        }
        guard validation != .ignore else { return (object, []) }
        let bodyTree = try tree ?? JSONSerialization.jsonObject(with: body)
        return (object, try FieldValidation.check(kind: served.kind, apiVersion: served.apiVersion, custom: kind.definedBySchema,
                                                  unknown: FieldValidation.unknownFields(body: bodyTree, decoded: try KubeJSON.tree(object)), validation))
    }
}
