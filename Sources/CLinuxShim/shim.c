#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
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
