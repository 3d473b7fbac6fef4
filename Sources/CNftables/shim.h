// libnftables: rulesets as text, one transaction per call.
#include <stdio.h>
#include <nftables/libnftables.h>
