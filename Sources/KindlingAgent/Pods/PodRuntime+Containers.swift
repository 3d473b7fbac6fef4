import Foundation
import KindlingAddresses
import KindlingAPI
import KindlingNet
import KindlingProcess

/// Containers: the effects of `ContainerLifecycle`'s decisions (reaping, killing, spawning inside the
/// sandbox) and the events kubelet reports for them.
extension PodRuntime {
    static let containerPath = ImageCatalog.containerPath

    /// Reaps what ended, kills what outlived its grace, stops sidecars of a finished pod, and starts what may run
    /// now in `InitOrder`.
    func superviseContainers(_ pod: Pod, _ record: inout PodRecord) {
        let now = Date()
        let spec = pod.spec
        for container in spec.everyContainer {
            guard var state = record.containers[container.name], let process = state.process else { continue }
            let exit = machine.exitCode(process)
            if exit == nil && machine.isAlive(process) {
                if let deadline = state.killDeadline, deadline <= now { machine.signal(process, SIGKILL, group: true) }
                continue
            }
            let code = exit ?? 255
            // Like a runtime killing the container's cgroup: what the process left behind (nginx's
            // workers) goes with it. Each container is its own process group (kl_spawn's setsid).
            machine.signal(process, SIGKILL, group: true)
            inputs.removeValue(forKey: "\(record.uid)/\(container.name)")?.close()
            let policy = InitOrder.restartPolicy(InitOrder.role(of: container, in: spec), pod: spec, podDone: InitOrder.mainDone(spec, record))
            let backOff: Bool
            (state, backOff) = ContainerLifecycle.exited(state, code: code, at: now, restartPolicy: policy)
            record.containers[container.name] = state
            logger.info("pod \(pod.namespace)/\(pod.name): container \(container.name) exited with \(code)")
            if backOff {
                report(pod, container: container.name, type: "Warning", reason: "BackOff",
                       message: "Back-off restarting failed container \(container.name) in pod \(pod.name)_\(pod.namespace)(\(pod.metadata.uid ?? ""))")
            }
        }
        var progress = InitOrder.progress(spec, record)
        if progress.initialized && !record.initialized {
            record.initialized = true
            progress = InitOrder.progress(spec, record)
        }
        let podDone = InitOrder.mainDone(spec, record)
        for container in spec.everyContainer {
            var state = record.containers[container.name] ?? ContainerRecord()
            defer { record.containers[container.name] = state }
            let role = InitOrder.role(of: container, in: spec)
            if podDone, role == .sidecar, state.process != nil, state.killDeadline == nil {
                // The pod's containers are done: its sidecars go, as kubelet ends them, without a restart.
                state = kill(container, of: pod, state, reason: "Stopping container \(container.name)", grace: spec.terminationGracePeriodSeconds)
                state.restartForced = false
            }
            guard services != nil, state.process == nil, InitOrder.mayRun(container, in: spec, progress),
                  ContainerLifecycle.next(state, restartPolicy: InitOrder.restartPolicy(role, pod: spec, podDone: podDone), now: now) == .start
            else { continue }
            state = start(container, of: pod, record: record, state: state, now: now)
        }
    }

    /// Stops a container for kubelet's own reasons (a failed probe, the end of its pod): its preStop hook,
    /// then SIGTERM, and SIGKILL if it outlives `grace` seconds.
    func kill(_ container: Container, of pod: Pod, _ state: ContainerRecord, reason: String, grace: Int64?) -> ContainerRecord {
        guard let process = state.process else { return state }
        let grace = grace ?? pod.spec.terminationGracePeriodSeconds ?? 30
        report(pod, container: container.name, reason: "Killing", message: reason)
        let hook = container.lifecycle?.preStop
        let target = hookTarget(container, pod: pod)
        Task {
            if let hook, let target { await self.runPreStop(hook, target: target, pod: pod, container: container.name, grace: grace) }
            if self.machine.isAlive(process) { self.machine.signal(process, SIGTERM, group: false) }
        }
        return ContainerLifecycle.killing(state, at: Date(), grace: grace)
    }

    /// Starts a container as kubelet does: the image first, then its variables (which `$(VAR)` in command
    /// and args name), then the process inside the sandbox. Returns its record, started or waiting.
    func start(_ container: Container, of pod: Pod, record: PodRecord, state: ContainerRecord, now: Date) -> ContainerRecord {
        guard let sandbox = record.sandbox, machine.isAlive(sandbox) else {
            return ContainerLifecycle.waiting(state, reason: "ContainerCreating", message: nil)
        }
        guard ImageCatalog.family(of: container.image ?? "") != nil else {
            return pullFailed(container, of: pod, state, ImageCatalog.NotInCatalog(image: container.image ?? ""), now: now)
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
        var argv0: String?
        switch ImageCatalog.commandLine(image: container.image ?? "", command: container.command?.map { ContainerEnvironment.expand($0, env) },
                                        args: container.args?.map { ContainerEnvironment.expand($0, env) }, programs: programs) {
        case .failure(let error):
            return pullFailed(container, of: pod, state, error, now: now)
        case .success(let words) where words.isEmpty:
            argv = ["/usr/sbin/nginx", "-c", writeNginxConfig(record, container: container)]
        case .success(let words):
            guard let path = machine.resolve(words[0]) else {
                return ContainerLifecycle.commandNotFound(state, command: words[0], now: now)
            }
            argv = [path] + words.dropFirst()
            argv0 = words[0]
        }
        if container.tty == true, env["TERM"] == nil { env["TERM"] = "xterm" }
        do {
            if state.startedAt != nil { keepPreviousLog(record.uid, container: container.name) }
            let process = try spawn(argv, argv0: argv0, container, record: record, sandbox: sandbox, environment: env)
            report(pod, container: container.name, reason: "Pulled", message: "Container image \"\(container.image ?? "")\" already present on machine")
            report(pod, container: container.name, reason: "Created", message: "Created container: \(container.name)")
            report(pod, container: container.name, reason: "Started", message: "Started container \(container.name)")
            let started = ContainerLifecycle.started(state, process: process, environment: env, at: now, container: container)
            if let hook = container.lifecycle?.postStart, let process { runPostStart(hook, container, of: pod, process: process, environment: env) }
            return started
        } catch {
            return ContainerLifecycle.waiting(state, reason: "RunContainerError", message: "\(error)")
        }
    }

    /// kubelet's ErrImagePull, then ImagePullBackOff, with its events.
    func pullFailed(_ container: Container, of pod: Pod, _ state: ContainerRecord, _ error: ImageCatalog.NotInCatalog, now: Date) -> ContainerRecord {
        let image = container.image ?? ""
        let (next, pulled) = ContainerLifecycle.pullFailed(state, image: image, message: error.description, now: now)
        if pulled {
            report(pod, container: container.name, reason: "Pulling", message: "Pulling image \"\(image)\"")
            report(pod, container: container.name, type: "Warning", reason: "Failed", message: "Failed to pull image \"\(image)\": \(error.description)")
            report(pod, container: container.name, type: "Warning", reason: "Failed", message: "Error: ErrImagePull")
        } else {
            report(pod, container: container.name, reason: "BackOff", message: "Back-off pulling image \"\(image)\"")
            report(pod, container: container.name, type: "Warning", reason: "Failed", message: "Error: ImagePullBackOff")
        }
        return next
    }

    /// The log so far becomes the previous instance's (`logs --previous`); the new instance writes a new one.
    func keepPreviousLog(_ uid: String, container: String) {
        _ = rename(files.logPath(uid, container: container), files.previousLogPath(uid, container: container))
    }

    /// The container's process inside the pod's sandbox, with its standard input (a pipe or a terminal) when
    /// it asks for one.
    func spawn(_ argv: [String], argv0: String?, _ container: Container, record: PodRecord, sandbox: ProcessRef,
               environment: [String: String]) throws -> ProcessRef? {
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
            var options = ContainerStart(logPath: tty ? nil : logPath, workingDirectory: container.workingDir, environment: environment,
                                         stdin: input?.containerEnd, output: tty ? input?.containerEnd : nil, terminal: tty)
            options.argv0 = argv0
            process = try machine.startContainer(argv, in: record, sandbox: sandbox, options: options)
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
