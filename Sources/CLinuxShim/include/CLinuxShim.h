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

#endif

/// fork + exec with what a supervised daemon or a pod process needs, done in the child between fork and
/// exec with async-signal-safe calls only: enter the network namespace `netns_fd` (-1: stay), start a new
/// session, empty the signal mask and reset handlers (Swift threads block signals, and children inherit
/// that), send stdin to /dev/null and stdout/stderr to `log_fd` (-1: keep), chdir to `dir` (NULL: stay).
/// Returns the child's pid, or -1 with errno set.
pid_t kl_spawn(const char *path, char *const argv[], char *const envp[], int netns_fd, int log_fd, const char *dir);
