// assignor.h: the client-side partition assignors: the eager "range" and "roundrobin", computing
// exactly what the Java client and librdkafka compute for the same inputs, so kesm can lead a
// mixed consumer group; and "cooperative-sticky" (KIP-429, assignor_sticky.c), whose result is
// balanced and keeps every member's owned partitions where it can, as Java's and librdkafka's
// do, without promising the very same partition choice (every member follows the leader's
// assignment, whoever computed it).
//
// Member order (both assignors, as Java's AbstractPartitionAssignor): members with a
// group.instance.id first, ordered by instance id, then the others ordered by member id; ids
// compare byte-wise (Java compares UTF-16 code units, which is the same order for ASCII ids).
// librdkafka 2.0.2 compares instance ids only when both members have one; the two orders differ
// only when static and dynamic members are mixed, and kesm follows Java there.
//
// Topics missing from the metadata, or with no partitions, are skipped. Every member gets an
// entry, possibly empty. Rack-aware range assignment (KIP-881) is not implemented: it only applies
// when some member sends a rack id, which kesm never does; if another member does, kesm computes
// the plain assignment (documented divergence from Java 3.5+).
#ifndef CONSUMER_ASSIGNOR_H
#define CONSUMER_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cons_assignor {
    CONS_ASSIGNOR_RANGE,
    CONS_ASSIGNOR_ROUNDROBIN,
    CONS_ASSIGNOR_COOPERATIVE_STICKY,
};

#define CONS_MAX_ASSIGNORS 3

// cons_assignor_from_name maps "range" / "roundrobin" / "cooperative-sticky"; returns 0 or -1
// for any other name.
int cons_assignor_from_name(const char *name, enum cons_assignor *out);
// cons_assignor_name returns the protocol name the group protocol uses.
const char *cons_assignor_name(enum cons_assignor a);
// cons_assignor_is_cooperative: whether the assignor runs the incremental (KIP-429) rebalance
// protocol. A member's assignors must all be cooperative or all eager (librdkafka's rule).
bool cons_assignor_is_cooperative(enum cons_assignor a);

// cons_assignors_parse parses a comma-separated list of assignor names (librdkafka's
// partition.assignment.strategy; spaces around names are ignored) into |out| (up to
// CONS_MAX_ASSIGNORS, no duplicates, not mixing cooperative and eager). Returns the count, or
// -1 with one line in |err| naming what is wrong.
int cons_assignors_parse(const char *list, enum cons_assignor *out, char *err, size_t err_cap);

struct cons_tp {
    const char *topic; // borrowed from the cons_topic_meta passed in
    int32_t partition;
};

// A member's subscription, borrowed: the strings must outlive the call. owned and generation
// (the ConsumerProtocolSubscription v1+ OwnedPartitions and v2+ GenerationId, -1 unknown) are
// read by cooperative-sticky only; zero-initialised members own nothing.
struct cons_member_sub {
    const char *member_id;
    const char *instance_id; // NULL for a dynamic member
    const char *const *topics;
    size_t num_topics;
    const struct cons_tp *owned;
    size_t num_owned;
    int32_t generation;
};

struct cons_topic_meta {
    const char *topic;
    int32_t num_partitions;
};

// One member's share. tps is sorted by topic then partition.
struct cons_assignment {
    struct cons_tp *tps;
    size_t num_tps;
};

// cons_assign computes the assignment of |topics| to |members|: out[i] is members[i]'s share
// (input order). |out| must have |num_members| entries; free each with cons_assignment_cleanup.
// Returns 0, or -1 (with every out[] entry empty) when a member id is NULL or two members share
// one.
int cons_assign(enum cons_assignor a, const struct cons_member_sub *members, size_t num_members,
                const struct cons_topic_meta *topics, size_t num_topics,
                struct cons_assignment *out);

void cons_assignment_cleanup(struct cons_assignment *a);

// cons_assign_sticky is cooperative-sticky (called by cons_assign): members keep the owned
// partitions that still exist and that they still subscribe to (a partition two members claim
// goes to the higher generation, then the first in member order); the rest go to the least
// loaded subscribed member; then single partitions move from the most to the least loaded
// member until no move narrows the spread. Finally every partition that would move from its
// current owner to another member is left out (KIP-429): the owner revokes it, rejoins, and it
// is assigned in the next rebalance. |order| is the member order (see above). Internal.
void cons_assign_sticky(const struct cons_member_sub *m, size_t n, const size_t *order,
                        const struct cons_topic_meta *t, size_t nt, struct cons_assignment *out);

#endif
