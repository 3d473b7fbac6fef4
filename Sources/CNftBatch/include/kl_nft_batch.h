// Raw nfnetlink batches for the proxy's small changes (libmnl): adding and deleting set and map elements,
// rewriting a chain of `goto`/`jump` rules, committed as one nf_tables transaction. The text path (libnftables)
// reads the whole table before every change; this path sends only the change.
#ifndef KL_NFT_BATCH_H
#define KL_NFT_BATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct kl_nft_batch kl_nft_batch;
struct mnl_socket;

/// A netfilter netlink socket of the calling thread's namespace. Keep it: closing one waits for an RCU grace
/// period (8-16 ms here), which would dominate every small change. NULL with errno set on failure.
struct mnl_socket *kl_nft_socket_open(void);
void kl_nft_socket_close(struct mnl_socket *socket);

/// The namespace's nf_tables ruleset generation: every committed transaction, anyone's, moves it on.
int kl_nft_generation(struct mnl_socket *socket, uint32_t *generation);

kl_nft_batch *kl_nft_batch_new(const char *table);
void kl_nft_batch_free(kl_nft_batch *batch);

/// Deletes every rule of `chain`.
int kl_nft_batch_flush_chain(kl_nft_batch *batch, const char *chain);

/// Appends a rule that is only a verdict, `goto target` (is_goto != 0) or `jump target`, to `chain`.
int kl_nft_batch_add_verdict_rule(kl_nft_batch *batch, const char *chain, int is_goto, const char *target);

/// Adds (add != 0) or deletes one element of a set or map; `key` and, for a map's new element, `value` as the
/// kernel stores them (value NULL otherwise).
int kl_nft_batch_set_element(kl_nft_batch *batch, const char *set, int add, const void *key, size_t key_length,
                             const void *value, size_t value_length);

/// Sends the batch as one transaction and waits for every message's answer. 0, or -errno of the first error.
int kl_nft_batch_commit(kl_nft_batch *batch, struct mnl_socket *socket);

#endif
