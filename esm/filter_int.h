// filter_int.h: the compiled FilterCriteria tree, shared by esm/filter.c (compilation) and
// esm/filter_match.c (matching). Nothing outside esm/ includes this.
#ifndef ESM_FILTER_INT_H
#define ESM_FILTER_INT_H

#include "esm/filter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATA_ARRAY_DEPTH 32
#define BUDGET_BASE 1000000u
#define BUDGET_PER_BYTE 32u

enum rkind {
    RK_STR,
    RK_NUM,
    RK_BOOL,
    RK_NULL,
    RK_PREFIX,
    RK_SUFFIX,
    RK_EIC, // equals-ignore-case
    RK_ANYBUT,
    RK_ANYBUT_PREFIX,
    RK_ANYBUT_SUFFIX,
    RK_ANYBUT_EIC,
    RK_NUMERIC,
    RK_EXISTS,
};

enum numop { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct rule {
    enum rkind kind;
    char *s; // RK_STR and the string operators (owned)
    size_t len;
    double num;        // RK_NUM
    bool b;            // RK_BOOL, RK_EXISTS
    struct rule *list; // RK_ANYBUT: the excluded values (RK_STR, RK_NUM, RK_BOOL, RK_NULL)
    size_t n_list;
    enum numop ops[2]; // RK_NUMERIC
    double bounds[2];
    size_t n_ops;
};

struct node;

struct field {
    char *name;
    size_t name_len;
    struct node *obj; // an object pattern; NULL: rules
    struct rule *rules;
    size_t n_rules;
};

struct node {
    struct field *fields;
    size_t n_fields;
    struct node **ors; // "$or": alternatives, ANDed with the fields
    size_t n_ors;
};

struct esm_filter {
    struct node **pats;
    size_t n;
    uint64_t budget_exceeded;
};

#endif
