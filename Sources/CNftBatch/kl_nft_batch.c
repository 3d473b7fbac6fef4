#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include "kl_nft_batch.h"

enum { BATCH_SIZE = 1 << 20 };

// Sequence numbers unique within the process, so answers left over from an aborted batch are never
// taken for the next one's.
static uint32_t next_seq = 1;

struct mnl_socket *kl_nft_socket_open(void) {
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == NULL) return NULL;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int saved = errno;
        mnl_socket_close(nl);
        errno = saved;
        return NULL;
    }
    return nl;
}

void kl_nft_socket_close(struct mnl_socket *nl) {
    if (nl) mnl_socket_close(nl);
}

static int generation_attr(const struct nlattr *attr, void *data) {
    if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
        *(uint32_t *)data = ntohl(mnl_attr_get_u32(attr));
    }
    return MNL_CB_OK;
}

static int generation_message(const struct nlmsghdr *nlh, void *data) {
    return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), generation_attr, data);
}

int kl_nft_generation(struct mnl_socket *nl, uint32_t *generation) {
    char buffer[8192];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    uint32_t seq = nlh->nlmsg_seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return -errno;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buffer, sizeof(buffer));
        if (n < 0) return -errno;
        int cb = mnl_cb_run(buffer, (size_t)n, seq, mnl_socket_get_portid(nl), generation_message, generation);
        // An answer to an older request (sequence mismatch) is skipped; anything else ends the wait.
        if (cb < 0 && errno == EPROTO) continue;
        if (cb < 0) return -errno;
        if (cb == MNL_CB_STOP) return 0;
    }
}

struct kl_nft_batch {
    char table[256];
    char *buffer;
    struct mnl_nlmsg_batch *batch;
    uint32_t first_seq, seq;
    int messages, overflow;
};

static struct nlmsghdr *put_header(kl_nft_batch *b, uint16_t type, uint16_t flags, int family, uint16_t res_id) {
    if (b->overflow) return NULL;
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b->batch));
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = b->seq++;
    struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
    nfg->nfgen_family = (uint8_t)family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(res_id);
    return nlh;
}

static int finish(kl_nft_batch *b, int counts) {
    if (!mnl_nlmsg_batch_next(b->batch)) { b->overflow = 1; return -ENOSPC; }
    b->messages += counts;
    return 0;
}

kl_nft_batch *kl_nft_batch_new(const char *table) {
    kl_nft_batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->buffer = malloc(BATCH_SIZE);
    if (!b->buffer) { free(b); return NULL; }
    strncpy(b->table, table, sizeof(b->table) - 1);
    b->batch = mnl_nlmsg_batch_start(b->buffer, BATCH_SIZE - 8192);
    b->first_seq = b->seq = __atomic_fetch_add(&next_seq, 1u << 16, __ATOMIC_RELAXED);
    put_header(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    finish(b, 0);
    return b;
}

void kl_nft_batch_free(kl_nft_batch *b) {
    if (!b) return;
    mnl_nlmsg_batch_stop(b->batch);
    free(b->buffer);
    free(b);
}

int kl_nft_batch_flush_chain(kl_nft_batch *b, const char *chain) {
    struct nlmsghdr *nlh = put_header(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE, NLM_F_ACK, NFPROTO_IPV4, 0);
    if (!nlh) return -ENOSPC;
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, b->table);
    mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
    return finish(b, 1);
}

static void put_data(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t length) {
    struct nlattr *nest = mnl_attr_nest_start(nlh, type);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, length, data);
    mnl_attr_nest_end(nlh, nest);
}

static struct nlattr *expr_start(struct nlmsghdr *nlh, const char *name, struct nlattr **data) {
    struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, name);
    *data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
    return elem;
}

static void expr_end(struct nlmsghdr *nlh, struct nlattr *elem, struct nlattr *data) {
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, elem);
}

int kl_nft_batch_add_verdict_rule(kl_nft_batch *b, const char *chain, int is_goto, const char *target) {
    struct nlmsghdr *nlh = put_header(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
                                      NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_IPV4, 0);
    if (!nlh) return -ENOSPC;
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, b->table);
    mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
    struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS), *data;
    struct nlattr *elem = expr_start(nlh, "immediate", &data);
    mnl_attr_put_u32(nlh, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
    struct nlattr *value = mnl_attr_nest_start(nlh, NFTA_IMMEDIATE_DATA);
    struct nlattr *verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)(is_goto ? NFT_GOTO : NFT_JUMP)));
    mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, target);
    mnl_attr_nest_end(nlh, verdict);
    mnl_attr_nest_end(nlh, value);
    expr_end(nlh, elem, data);
    mnl_attr_nest_end(nlh, list);
    return finish(b, 1);
}

int kl_nft_batch_set_element(kl_nft_batch *b, const char *set, int add, const void *key, size_t key_length,
                             const void *value, size_t value_length) {
    uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    struct nlmsghdr *nlh = put_header(b, type, (add ? NLM_F_CREATE : 0) | NLM_F_ACK, NFPROTO_IPV4, 0);
    if (!nlh) return -ENOSPC;
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, b->table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
    struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    struct nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    put_data(nlh, NFTA_SET_ELEM_KEY, key, key_length);
    if (value != NULL) put_data(nlh, NFTA_SET_ELEM_DATA, value, value_length);
    mnl_attr_nest_end(nlh, elem);
    mnl_attr_nest_end(nlh, list);
    return finish(b, 1);
}

int kl_nft_batch_commit(kl_nft_batch *b, struct mnl_socket *nl) {
    if (b->overflow) return -ENOSPC;
    if (!put_header(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES)) return -ENOSPC;
    finish(b, 0);
    if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b->batch), mnl_nlmsg_batch_size(b->batch)) < 0) return -errno;
    // Every message asked for an answer: an error aborts the transaction; success acks come one per message.
    // Answers outside this batch's sequence numbers are leftovers of an earlier, aborted one.
    char reply[8192];
    int answered = 0;
    while (answered < b->messages) {
        ssize_t received = mnl_socket_recvfrom(nl, reply, sizeof(reply));
        if (received < 0) return -errno;
        int left = (int)received;
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)reply; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < b->first_seq || nlh->nlmsg_seq >= b->seq) continue;
            const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
            if (err->error != 0) return err->error;
            answered++;
        }
    }
    return 0;
}
