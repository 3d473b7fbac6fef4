#ifndef KINDLING_CLINUXSHIM_H
#define KINDLING_CLINUXSHIM_H

#include <sys/types.h>

/// unshare(CLONE_NEWNET) for the calling thread only.
int kl_unshare_netns(void);
/// setns(fd, CLONE_NEWNET) for the calling thread only.
int kl_setns_net(int fd);
/// setns(fd, CLONE_NEWNS) for the calling thread (needs CLONE_FS unshared first).
int kl_setns_mnt(int fd);
/// unshare(CLONE_FS) so this thread may change its mount namespace or root alone.
int kl_unshare_fs(void);
pid_t kl_gettid(void);
int kl_bind_mount(const char *source, const char *target);
/// mount --make-shared / --make-rshared style propagation change.
int kl_make_shared(const char *target);
int kl_umount_detach(const char *target);
/// pidfd_open(pid, 0): a descriptor for exactly that process, readable once it has ended (also as a zombie).
int kl_pidfd_open(pid_t pid);

#endif

/// What a started process gets, done in the child between fork and exec with async-signal-safe calls only.
struct kl_spawn_opts {
    /// Network namespace to enter (-1: stay).
    int netns_fd;
    /// >0: join the mount and UTS namespaces of this process (a pod's sandbox), as `nsenter -t PID -m -u`.
    int join_pid;
    /// 1: make new mount and UTS namespaces (a pod's sandbox): mounts become slaves of the host's, then the
    /// overlays are mounted, the directories made, `bind_sources[i]` bind-mounted on `bind_targets[i]` (read-only
    /// where `bind_readonly[i]`), and the hostname set.
    int new_sandbox;
    const char *hostname;
    const char *const *bind_sources;
    const char *const *bind_targets;
    const int *bind_readonly;
    int bind_count;
    /// Overlay file systems: `overlay_options[i]` ("lowerdir=...,upperdir=...,workdir=...") on `overlay_targets[i]`,
    /// so that mount points can be made inside the sandbox's view of a directory without touching the machine's.
    const char *const *overlay_targets;
    const char *const *overlay_options;
    int overlay_count;
    /// Directories made (with their parents) after the overlays: mount points for binds.
    const char *const *mkdir_paths;
    int mkdir_count;
    /// stdout/stderr go here (-1: inherited). stdin is /dev/null unless keep_stdio is set or stdin_fd given.
    int log_fd;
    /// 1: keep stdin/stdout/stderr as they are (an interactive exec) and stay in the caller's session.
    int keep_stdio;
    /// Working directory (NULL: stay).
    const char *dir;
    /// >=0: the child's stdin (a container's stdin pipe or terminal).
    int stdin_fd;
    /// 1: a new session whose controlling terminal is the child's stdin (a terminal nobody controls yet),
    /// so the shell in it gets job control, ^C and window-size changes.
    int terminal;
    /// >=0: stderr goes here instead of log_fd (an exec's separate error stream). Callers must set -1 otherwise.
    int err_fd;
};

/// fork + exec with everything a daemon or a pod process needs: the namespaces above, a new session
/// (unless keep_stdio), an empty signal mask and default handlers (Swift threads block signals, and
/// children inherit that), and every other inherited descriptor closed on exec.
/// Returns the child's pid, or -1 with errno set (also when exec itself failed).
pid_t kl_spawn(const char *path, char *const argv[], char *const envp[], const struct kl_spawn_opts *opts);

/// A new pseudo-terminal pair (both ends close-on-exec, not the caller's controlling terminal), sized
/// 80x24 until told otherwise. Returns 0, or -1 with errno set.
int kl_openpty(int *primary, int *replica);
/// TIOCSWINSZ on a terminal: its window size, which the foreground process group learns by SIGWINCH.
int kl_set_window_size(int fd, unsigned short columns, unsigned short rows);

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants (pod processes of a restarted agent) become our
/// children, so we reap them instead of leaving zombies.
int kl_set_child_subreaper(void);
