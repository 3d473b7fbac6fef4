#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "CLinuxShim.h"

int kl_unshare_netns(void) { return unshare(CLONE_NEWNET); }
int kl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
int kl_setns_mnt(int fd) { return setns(fd, CLONE_NEWNS); }
int kl_unshare_fs(void) { return unshare(CLONE_FS); }
pid_t kl_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int kl_bind_mount(const char *source, const char *target) {
    return mount(source, target, "none", MS_BIND, NULL);
}
int kl_make_shared(const char *target) { return mount("", target, "none", MS_SHARED | MS_REC, NULL); }
int kl_umount_detach(const char *target) { return umount2(target, MNT_DETACH); }

#include <fcntl.h>
#include <signal.h>
#include <errno.h>
#include <linux/close_range.h>
#include <string.h>

static int kl_join_ns(int pid, const char *kind, int type) {
    char path[64];
    /* snprintf is not async-signal-safe: build "/proc/<pid>/ns/<kind>" by hand. */
    char digits[16];
    int n = 0;
    do { digits[n++] = (char)('0' + pid % 10); pid /= 10; } while (pid > 0 && n < 15);
    int i = 0;
    const char *prefix = "/proc/";
    while (*prefix) path[i++] = *prefix++;
    while (n > 0) path[i++] = digits[--n];
    const char *mid = "/ns/";
    while (*mid) path[i++] = *mid++;
    while (*kind && i < 62) path[i++] = *kind++;
    path[i] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = setns(fd, type);
    close(fd);
    return rc;
}

#define KL_MAX_BINDS 256

/* "/proc/self/fd/<fd>", built by hand (snprintf is not async-signal-safe). */
static void kl_fd_path(int fd, char out[32]) {
    const char *prefix = "/proc/self/fd/";
    int i = 0;
    while (*prefix) out[i++] = *prefix++;
    char digits[12];
    int n = 0;
    do { digits[n++] = (char)('0' + fd % 10); fd /= 10; } while (fd > 0 && n < 11);
    while (n > 0) out[i++] = digits[--n];
    out[i] = 0;
}

/* mkdir -p, with async-signal-safe calls only. */
static int kl_mkdir_p(const char *path) {
    char buffer[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof buffer) { errno = ENAMETOOLONG; return -1; }
    memcpy(buffer, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (buffer[i] != '/' && buffer[i] != 0) continue;
        char saved = buffer[i];
        buffer[i] = 0;
        if (mkdir(buffer, 0755) != 0 && errno != EEXIST) return -1;
        buffer[i] = saved;
    }
    return 0;
}

pid_t kl_spawn(const char *path, char *const argv[], char *const envp[], const struct kl_spawn_opts *o) {
    /* A pipe that closes on exec tells the parent whether exec worked. */
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(status_pipe[0]);
        close(status_pipe[1]);
        return -1;
    }
    if (pid == 0) {
        int err = 0;
        sigset_t empty;
        sigemptyset(&empty);
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &empty, NULL);
        if (o->netns_fd >= 0 && setns(o->netns_fd, CLONE_NEWNET) != 0) { err = errno; goto fail; }
        if (o->join_pid > 0) {
            if (kl_join_ns(o->join_pid, "mnt", CLONE_NEWNS) != 0) { err = errno; goto fail; }
            if (kl_join_ns(o->join_pid, "uts", CLONE_NEWUTS) != 0) { err = errno; goto fail; }
        }
        if (o->new_sandbox) {
            if (unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) { err = errno; goto fail; }
            if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) { err = errno; goto fail; }
            /* Bind sources are opened before the overlays: a source under an overlaid directory (the pod's own
               files under /var/lib when /var is overlaid) must be the machine's directory, not the overlay's
               view of it, which does not see later changes to its lower layer. */
            int sources[KL_MAX_BINDS];
            if (o->bind_count > KL_MAX_BINDS) { err = E2BIG; goto fail; }
            for (int i = 0; i < o->bind_count; i++) {
                sources[i] = open(o->bind_sources[i], O_PATH | O_CLOEXEC);
                if (sources[i] < 0) { err = errno; goto fail; }
            }
            for (int i = 0; i < o->overlay_count; i++) {
                if (mount("overlay", o->overlay_targets[i], "overlay", 0, o->overlay_options[i]) != 0) { err = errno; goto fail; }
            }
            for (int i = 0; i < o->mkdir_count; i++) {
                if (kl_mkdir_p(o->mkdir_paths[i]) != 0) { err = errno; goto fail; }
            }
            for (int i = 0; i < o->bind_count; i++) {
                char source[32];
                kl_fd_path(sources[i], source);
                if (mount(source, o->bind_targets[i], NULL, MS_BIND, NULL) != 0) { err = errno; goto fail; }
                if (o->bind_readonly != NULL && o->bind_readonly[i] &&
                    mount(NULL, o->bind_targets[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) { err = errno; goto fail; }
            }
            if (o->hostname != NULL && sethostname(o->hostname, strlen(o->hostname)) != 0) { err = errno; goto fail; }
        }
        if (o->stdin_fd >= 0) {
            if (dup2(o->stdin_fd, 0) < 0) { err = errno; goto fail; }
        } else if (!o->keep_stdio) {
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull >= 0) { dup2(devnull, 0); if (devnull > 2) close(devnull); }
        }
        if (!o->keep_stdio || o->terminal) setsid();
        /* Fails harmlessly when the terminal already is some session's. */
        if (o->terminal) (void)ioctl(0, TIOCSCTTY, 0);
        if (o->log_fd >= 0) { dup2(o->log_fd, 1); dup2(o->log_fd, 2); }
        if (o->err_fd >= 0) dup2(o->err_fd, 2);
        if (o->dir != NULL && chdir(o->dir) != 0) { err = errno; goto fail; }
        /* Nothing else the parent had open may reach the child: a long-lived daemon holding the write end
           of someone's pipe keeps that reader waiting forever. Close-on-exec, so status_pipe still works. */
        syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        execve(path, argv, envp);
        err = errno;
    fail:
        (void)!write(status_pipe[1], &err, sizeof err);
        _exit(127);
    }
    close(status_pipe[1]);
    int child_err = 0;
    ssize_t n;
    do { n = read(status_pipe[0], &child_err, sizeof child_err); } while (n < 0 && errno == EINTR);
    close(status_pipe[0]);
    if (n == sizeof child_err) {
        int st;
        waitpid(pid, &st, 0);
        errno = child_err;
        return -1;
    }
    return pid;
}

#include <stdlib.h>
#include <termios.h>

int kl_openpty(int *primary, int *replica) {
    int p = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p < 0) return -1;
    char name[64];
    if (grantpt(p) != 0 || unlockpt(p) != 0 || ptsname_r(p, name, sizeof name) != 0) { close(p); return -1; }
    int r = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (r < 0) { close(p); return -1; }
    struct winsize size = { .ws_row = 24, .ws_col = 80 };
    (void)ioctl(r, TIOCSWINSZ, &size);
    *primary = p;
    *replica = r;
    return 0;
}

int kl_set_window_size(int fd, unsigned short columns, unsigned short rows) {
    struct winsize size = { .ws_row = rows, .ws_col = columns };
    return ioctl(fd, TIOCSWINSZ, &size);
}

#include <sys/prctl.h>
int kl_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int kl_pidfd_open(pid_t pid) {
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
