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
