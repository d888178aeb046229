// assignor.h: the eager client-side partition assignors "range" and "roundrobin", computing
// exactly what the Java client and librdkafka compute for the same inputs, so kesm can lead a
// mixed consumer group.
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

#include <stddef.h>
#include <stdint.h>

enum cons_assignor {
    CONS_ASSIGNOR_RANGE,
    CONS_ASSIGNOR_ROUNDROBIN,
};

// cons_assignor_from_name maps "range" / "roundrobin"; returns 0 or -1 for any other name.
int cons_assignor_from_name(const char *name, enum cons_assignor *out);
// cons_assignor_name returns the protocol name the group protocol uses.
const char *cons_assignor_name(enum cons_assignor a);

// A member's subscription, borrowed: the strings must outlive the call.
struct cons_member_sub {
    const char *member_id;
    const char *instance_id; // NULL for a dynamic member
    const char *const *topics;
    size_t num_topics;
};

struct cons_topic_meta {
    const char *topic;
    int32_t num_partitions;
};

struct cons_tp {
    const char *topic; // borrowed from the cons_topic_meta passed in
    int32_t partition;
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

#endif
