// libnftables (rulesets as text, one transaction per call) and libmnl (raw nfnetlink messages).
#include <netinet/in.h>   // first: linux/netfilter headers otherwise clash with it in clean debug builds
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

static inline int kl_nft_genid_attr(const struct nlattr *attr, void *data) {
    if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
        *(uint32_t *)data = ntohl(mnl_attr_get_u32(attr));
    }
    return MNL_CB_OK;
}

static inline int kl_nft_genid_msg(const struct nlmsghdr *nlh, void *data) {
    return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), kl_nft_genid_attr, data);
}

/// The nf_tables ruleset generation of the calling thread's network namespace: every committed
/// transaction, from anyone, moves it on. Returns 0, or -1 with errno set.
static inline int kl_nft_genid(uint32_t *genid) {
    char buf[8192];   // MNL_SOCKET_BUFFER_SIZE is a sysconf() call, not a constant
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == NULL) return -1;
    int ret = -1;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) goto out;
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) goto out;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0) goto out;
        int cb = mnl_cb_run(buf, (size_t)n, seq, portid, kl_nft_genid_msg, genid);
        if (cb < 0) goto out;
        if (cb == MNL_CB_STOP) break;
    }
    ret = 0;
out:;
    int saved = errno;
    mnl_socket_close(nl);
    errno = saved;
    return ret;
}
