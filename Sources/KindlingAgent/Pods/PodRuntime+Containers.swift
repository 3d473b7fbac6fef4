import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Containers: the effects of `ContainerLifecycle`'s decisions (reaping, killing, spawning inside the
/// sandbox) and the events kubelet reports for them.
extension PodRuntime {
    static let containerPath = ImageCatalog.containerPath

    func superviseContainers(_ pod: Pod, _ record: inout PodRecord) {
        let now = Date()
        for container in pod.spec.containers {
            var state = record.containers[container.name] ?? ContainerRecord()
            defer { record.containers[container.name] = state }
            if let process = state.process {
                let exit = machine.exitCode(process)
                if exit == nil && machine.isAlive(process) { continue }
                let code = exit ?? 255
                // Like a runtime killing the container's cgroup: what the process left behind (nginx's
                // workers) goes with it. Each container is its own process group (kl_spawn's setsid).
                machine.signal(process, SIGKILL, group: true)
                inputs.removeValue(forKey: "\(record.uid)/\(container.name)")?.close()
                let backOff: Bool
                (state, backOff) = ContainerLifecycle.exited(state, code: code, at: now, restartPolicy: pod.spec.restartPolicy)
                logger.info("pod \(pod.namespace)/\(pod.name): container \(container.name) exited with \(code)")
                if backOff {
                    report(pod, container: container.name, type: "Warning", reason: "BackOff",
                           message: "Back-off restarting failed container \(container.name) in pod \(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))")
                }
            }
            guard services != nil, ContainerLifecycle.next(state, restartPolicy: pod.spec.restartPolicy, now: now) == .start else { continue }
            state = start(container, of: pod, record: record, state: state, now: now)
        }
    }

    /// Starts a container as kubelet does: the image first, then its variables (which `$(VAR)` in command
    /// and args name), then the process inside the sandbox. Returns its record, started or waiting.
    func start(_ container: Container, of pod: Pod, record: PodRecord, state: ContainerRecord, now: Date) -> ContainerRecord {
        guard let sandbox = record.sandbox, machine.isAlive(sandbox) else {
            return ContainerLifecycle.waiting(state, reason: "ContainerCreating", message: nil)
        }
        guard ImageCatalog.family(of: container.image ?? "") != nil else {
            return pullFailed(container, of: pod, state, ImageCatalog.NotInCatalog(image: container.image ?? ""))
        }
        var env: [String: String]
        do {
            env = try ContainerEnvironment(services: services.map { Array($0.values) } ?? [], references: references[record.uid] ?? PodReferences(),
                                           nodeName: nodeName, nodeIP: nodeIP).variables(for: container, of: pod, podIP: record.ip)
        } catch let problem as PodSetupError {
            // kubelet's CreateContainerConfigError: tried again shortly, reported when the reason changes.
            if state.waitingMessage != problem.description {
                report(pod, container: container.name, type: "Warning", reason: "Failed", message: "Error: \(problem.description)")
            }
            return ContainerLifecycle.waiting(state, reason: "CreateContainerConfigError", message: problem.description, retryAt: now.addingTimeInterval(2))
        } catch {
            return ContainerLifecycle.waiting(state, reason: "RunContainerError", message: "\(error)")
        }
        let argv: [String]
        switch ImageCatalog.commandLine(image: container.image ?? "", command: container.command?.map { ContainerEnvironment.expand($0, env) },
                                        args: container.args?.map { ContainerEnvironment.expand($0, env) }, programs: programs) {
        case .failure(let error):
            return pullFailed(container, of: pod, state, error)
        case .success(let words) where words.isEmpty:
            argv = ["/usr/sbin/nginx", "-c", writeNginxConfig(record, container: container)]
        case .success(let words):
            guard let path = machine.resolve(words[0]) else {
                return ContainerLifecycle.commandNotFound(state, command: words[0], now: now)
            }
            argv = [path] + words.dropFirst()
        }
        if container.tty == true, env["TERM"] == nil { env["TERM"] = "xterm" }
        do {
            let process = try spawn(argv, container, record: record, sandbox: sandbox, environment: env)
            if state.startedAt == nil {
                report(pod, container: container.name, reason: "Pulled", message: "Container image \"\(container.image ?? "")\" already present on machine")
            }
            report(pod, container: container.name, reason: "Created", message: "Created container: \(container.name)")
            report(pod, container: container.name, reason: "Started", message: "Started container \(container.name)")
            return ContainerLifecycle.started(state, process: process, environment: env, at: now, readinessProbe: container.readinessProbe)
        } catch {
            return ContainerLifecycle.waiting(state, reason: "RunContainerError", message: "\(error)")
        }
    }

    /// kubelet's ErrImagePull, reported once until the reason changes.
    func pullFailed(_ container: Container, of pod: Pod, _ state: ContainerRecord, _ error: ImageCatalog.NotInCatalog) -> ContainerRecord {
        if state.waitingReason != "ErrImagePull" {
            report(pod, container: container.name, type: "Warning", reason: "Failed",
                   message: "Failed to pull image \"\(container.image ?? "")\": \(error.description)")
        }
        return ContainerLifecycle.waiting(state, reason: "ErrImagePull", message: error.description)
    }

    /// The container's process inside the pod's sandbox, with its standard input (a pipe or a terminal) when
    /// it asks for one.
    func spawn(_ argv: [String], _ container: Container, record: PodRecord, sandbox: ProcessRef, environment: [String: String]) throws -> ProcessRef? {
        let key = "\(record.uid)/\(container.name)"
        let logPath = files.logPath(record.uid, container: container.name)
        let tty = container.tty == true
        inputs.removeValue(forKey: key)?.close()
        let input = container.stdin == true || tty ? try ContainerInput(
            socketPath: ClusterNames(cluster: cluster).containerInputSocket(uid: record.uid, container: container.name),
            terminal: tty, once: container.stdinOnce == true, logPath: logPath) : nil
        let process: ProcessRef?
        do {
            defer { if let input { close(input.containerEnd) } }
            process = try machine.startContainer(argv, in: record, sandbox: sandbox, options: ContainerStart(
                logPath: tty ? nil : logPath, workingDirectory: container.workingDir, environment: environment,
                stdin: input?.containerEnd, output: tty ? input?.containerEnd : nil, terminal: tty))
        } catch {
            input?.close()
            throw error
        }
        inputs[key] = input
        return process
    }

    /// nginx's main configuration for one container, as the nginx image's: everything in the pod's
    /// /etc/nginx/conf.d (its own default.conf, or what a volume mounts there, as in seed 001's HTTPS example).
    func writeNginxConfig(_ record: PodRecord, container: Container) -> String {
        let directory = files.directory(record.uid)
        let path = "\(directory)/nginx-\(container.name).conf"
        let config = """
            # nginx for pod \(record.namespace)/\(record.name); /etc/nginx/conf.d and /usr/share/nginx/html are the pod's own.
            daemon off;
            worker_processes 1;
            pid \(directory)/nginx-\(container.name).pid;
            error_log /dev/stderr notice;
            events { worker_connections 512; }
            http {
                include /etc/nginx/mime.types;
                default_type application/octet-stream;
                access_log /dev/stdout;
                sendfile on;
                keepalive_timeout 65;
                include /etc/nginx/conf.d/*.conf;
            }

            """
        try? config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The image's /etc/nginx/conf.d/default.conf: the pod's html on its first nginx container's first port.
    static func nginxDefaultServer(_ pod: Pod) -> String {
        let port = pod.spec.containers.first { ImageCatalog.family(of: $0.image ?? "") == .nginx }?.ports?.first?.containerPort ?? 80
        return """
            server {
                listen \(port) default_server;
                server_name localhost;
                root /usr/share/nginx/html;
                index index.html index.htm;
            }

            """
    }
}
