/* arena.h: the arena's layout, shared by the core's C files (not part of the
 * C API, which is pygrad.h). */
#ifndef PYGRAD_ARENA_H
#define PYGRAD_ARENA_H

#include "pygrad.h"

/* No node: an absent parent, the end of a list. */
#define PG_NIL UINT32_MAX
/* The op code of a slot on the free list. */
#define PG_FREE 0xFF

/* One node: 48 bytes. */
typedef struct pg_node {
    double data;
    double grad;
    double k;            /* PG_POWK's exponent; 0 for every other op */
    uint32_t parent[2];  /* operand indices; PG_NIL past the op's arity */
    uint32_t refs;       /* handles (Values, optimizers) plus child links;
                            0 only while freeing */
    uint32_t aux;        /* free slot: next free slot (or PG_NIL); live node:
                            0, except inside graph.c's sort (a count of child links)
                            and pg_release (the pending list) */
    uint32_t ext;        /* 0, or 1 + index into arena.ext of this node's
                            label and kept order */
    uint8_t op;          /* a pg_op, or PG_FREE */
    uint8_t pad[3];
} pg_node;

/* What a few nodes carry beyond the 48 bytes: a label, a kept order. */
typedef struct pg_ext {
    char *label;         /* owned; NULL when none */
    uint32_t *order;     /* owned; pg_order's result for this root, or NULL */
    uint32_t norder;     /* entries in order */
    uint32_t next_free;  /* free ext slot: next free slot, or PG_NIL */
} pg_ext;

typedef struct pg_arena {
    pg_node *nodes;      /* cap slots; [0, used) handed out, live or free */
    uint32_t cap, used;
    uint32_t free_head;  /* first free slot, or PG_NIL; LIFO for locality */
    uint32_t nfree;      /* length of the free list */
    uint32_t freed_since_trim; /* frees since arena.c's trim last ran */
    uint32_t limit;      /* most slots allowed (pg_test_node_limit) */
    pg_ext *ext;         /* ext_cap entries; [0, ext_used) handed out */
    uint32_t ext_cap, ext_used, ext_free;
    uint32_t norders;    /* roots with a kept order */
    uint64_t order_bytes;
    uint64_t label_bytes;
    uint32_t fail_countdown; /* pg_test_fail_alloc: fails the allocation at which
                                this reaches 0 from 1; 0 means none fails */
} pg_arena;

/* The one arena of the process (arena.c). */
extern pg_arena pg_A;

/* realloc through the failure-injection hook; NULL on failure. */
void *pg_realloc(void *p, size_t n);

/* Makes room for n new nodes, growing the arena if the free list and the
 * unused tail are short. On failure nothing changes. */
int pg_reserve(uint32_t n);

/* Takes a slot from the free list or the tail (pg_reserve must have made room)
 * and fills it as a node with one reference; takes a reference to each parent. */
uint32_t pg_node_new(uint8_t op, double data, uint32_t p0, uint32_t p1, double k);

/* The ext record of node i, created on demand; NULL when allocation fails. */
pg_ext *pg_ext_of(uint32_t i);

/* Number of parents an op has. */
static inline int pg_arity(uint8_t op)
{
    return op == PG_LEAF ? 0 : op <= PG_POW ? 2 : 1;
}

/* Nonzero while live node i can take another reference without its count
 * overflowing (a*a takes two at once). */
static inline int pg_can_ref(uint32_t i)
{
    return pg_A.nodes[i].refs < UINT32_MAX - 2;
}

/* Nonzero when i names a live node. */
static inline int pg_live(uint32_t i)
{
    return i < pg_A.used && pg_A.nodes[i].op != PG_FREE;
}

#endif /* PYGRAD_ARENA_H */
