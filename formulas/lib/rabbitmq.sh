# shellcheck shell=bash
# What formulas/rabbitmq/configure and health both read of `rabbitmqctl cluster_status --formatter
# json` (one line; no JSON tool on the node). Included after lib/kinetic.sh:
#   # kinetic-include: lib/rabbitmq.sh

# rabbit_nodes LIST < json: the quoted node names of LIST (running_nodes, disk_nodes), e.g.
# "rabbit@a","rabbit@b". Node names are rabbit@<hostname> with validated hostnames, so a match on a
# quoted name is exact.
rabbit_nodes() { sed -n "s/.*\"$1\":\[\([^]]*\)\].*/\1/p"; }

# rabbit_count < quoted names: how many.
rabbit_count() { grep -o '"rabbit@' | wc -l; }
