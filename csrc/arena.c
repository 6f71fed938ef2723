/* arena.c: node storage and lifetime: slots, the free list, reference counts,
 * labels and kept orders, figures, and the testing hooks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

pg_arena pg_A = {
    .free_head = PG_NIL,
    .ext_free = PG_NIL,
    .limit = PG_NIL, /* indices 0 .. PG_NIL - 1 */
};

void *pg_realloc(void *p, size_t n)
{
    if (pg_A.fail_countdown && --pg_A.fail_countdown == 0)
        return NULL;
    return realloc(p, n);
}

/* Drops the log's stale entries, keeping the order of the rest, and points
 * each live node's pos at its new entry. */
static void log_compact(void)
{
    pg_node *nodes = pg_A.nodes;
    uint32_t w = 0;
    for (uint32_t q = 0; q < pg_A.log_len; q++) {
        uint32_t i = pg_A.log[q];
        if (pg_live(i) && nodes[i].pos == q) {
            pg_A.log[w] = i;
            nodes[i].pos = w++;
        }
    }
    pg_A.log_len = w;
}

/* Makes room for n more log entries: by compacting when at least half the
 * entries are stale (paid for by the frees that made them so), else by
 * growing the log and its marks. */
static int log_room(uint32_t n)
{
    if ((uint64_t)pg_A.log_len + n <= pg_A.log_cap)
        return PG_OK;
    uint32_t live = pg_A.used - pg_A.nfree;
    if (pg_A.log_len - live >= pg_A.log_len / 2 && (uint64_t)live + n <= pg_A.log_cap) {
        log_compact();
        return PG_OK;
    }
    uint64_t need = (uint64_t)pg_A.log_len + n;
    uint64_t cap = pg_A.log_cap ? pg_A.log_cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    if (cap < need)
        return PG_EFULL;
    size_t words = (size_t)(cap / 64 + 1), old_words = pg_A.log_cap / 64 + (pg_A.log ? 1 : 0);
    /* If the second block fails, the first is left larger than log_cap,
     * which serves as well. */
    uint64_t *marks = pg_realloc(pg_A.marks, words * sizeof(uint64_t));
    if (!marks)
        return PG_ENOMEM;
    memset(marks + old_words, 0, (words - old_words) * sizeof(uint64_t));
    pg_A.marks = marks;
    uint32_t *log = pg_realloc(pg_A.log, (size_t)cap * sizeof(uint32_t));
    if (!log)
        return PG_ENOMEM;
    pg_A.log = log;
    pg_A.log_cap = (uint32_t)cap;
    return PG_OK;
}

int pg_reserve(uint32_t n)
{
    int s = log_room(n);
    if (s != PG_OK)
        return s;
    if ((uint64_t)pg_A.nfree + (pg_A.cap - pg_A.used) >= n)
        return PG_OK;
    /* slots in use or on the free list, plus those the free list can't give */
    uint64_t need = (uint64_t)pg_A.used + (n - pg_A.nfree);
    if (need > pg_A.limit)
        return PG_EFULL;
    uint64_t cap = pg_A.cap ? pg_A.cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > pg_A.limit)
        cap = pg_A.limit;
    if (cap > SIZE_MAX / sizeof(pg_node))
        return PG_ENOMEM;
    /* If the second block fails, the first is left larger than cap, which
     * serves as well. */
    pg_side *side = pg_realloc(pg_A.side, (size_t)cap * sizeof(pg_side));
    if (!side)
        return PG_ENOMEM;
    pg_A.side = side;
    pg_node *nodes = pg_realloc(pg_A.nodes, (size_t)cap * sizeof(pg_node));
    if (!nodes)
        return PG_ENOMEM;
    pg_A.nodes = nodes;
    pg_A.cap = (uint32_t)cap;
    return PG_OK;
}

uint32_t pg_node_new(uint8_t op, double data, uint32_t p0, uint32_t p1)
{
    pg_node *nodes = pg_A.nodes;
    uint32_t i;
    if (pg_A.free_head != PG_NIL) {
        i = pg_A.free_head;
        pg_A.free_head = nodes[i].parent[0];
        pg_A.nfree--;
    } else {
        i = pg_A.used++;
    }
    pg_node *n = &nodes[i];
    n->data = data;
    n->grad = 0.0;
    n->parent[0] = p0;
    n->parent[1] = p1;
    n->pos = pg_A.log_len;
    n->op = op;
    n->flags = 0;
    pg_A.log[pg_A.log_len++] = i;
    pg_A.side[i] = (pg_side){.refs = 1, .ext = 0};
    if (p0 != PG_NIL)
        pg_A.side[p0].refs++;
    if (p1 != PG_NIL)
        pg_A.side[p1].refs++;
    return i;
}

pg_ext *pg_ext_of(uint32_t i)
{
    pg_side *n = &pg_A.side[i];
    if (n->ext)
        return &pg_A.ext[n->ext - 1];
    uint32_t e;
    if (pg_A.ext_free != PG_NIL) {
        e = pg_A.ext_free;
        pg_A.ext_free = pg_A.ext[e].next_free;
    } else {
        if (pg_A.ext_used == pg_A.ext_cap) {
            uint32_t cap = pg_A.ext_cap ? pg_A.ext_cap * 2 : 64;
            pg_ext *ext = pg_realloc(pg_A.ext, (size_t)cap * sizeof(pg_ext));
            if (!ext)
                return NULL;
            pg_A.ext = ext;
            pg_A.ext_cap = cap;
        }
        e = pg_A.ext_used++;
    }
    pg_A.ext[e] = (pg_ext){NULL, NULL, 0, PG_NIL};
    n->ext = e + 1;
    return &pg_A.ext[e];
}

/* Frees x's label, if it has one, and takes it off the figures. */
static void label_drop(pg_ext *x)
{
    if (!x->label)
        return;
    pg_A.label_bytes -= strlen(x->label) + 1;
    free(x->label);
    x->label = NULL;
}

/* Frees a slot's ext record, if it has one, and what that record owns. */
static void ext_drop(pg_side *n)
{
    if (!n->ext)
        return;
    uint32_t e = n->ext - 1;
    pg_ext *x = &pg_A.ext[e];
    label_drop(x);
    if (x->order) {
        pg_A.order_bytes -= (uint64_t)x->norder * sizeof(uint32_t);
        pg_A.norders--;
        free(x->order);
    }
    x->order = NULL;
    x->next_free = pg_A.ext_free;
    pg_A.ext_free = e;
    n->ext = 0;
}

int pg_retain(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (!pg_can_ref(i))
        return PG_EFULL;
    pg_A.side[i].refs++;
    return PG_OK;
}

/* Arenas up to this many slots (12.6 MB) are never shrunk, so that a loop
 * that builds and drops graphs of up to this size does not regrow each time. */
#define TRIM_FLOOR (1u << 18)

/* Tidies the arena after a large release: drops free slots off the top,
 * relinks the free list in index order, and above TRIM_FLOOR shrinks the block
 * to the next power of two that holds the slots in use. In index order, a
 * graph built next takes ascending slots in the order it is made, so that
 * graph.c's passes, which follow that order, read memory in address order.
 * Indices of live nodes do not change. Costs one scan of the slots in use,
 * paid for by the more than used / 2 frees since the last trim. */
static void trim(void)
{
    pg_node *nodes = pg_A.nodes;
    pg_A.freed_since_trim = 0;
    while (pg_A.used > 0 && nodes[pg_A.used - 1].op == PG_FREE)
        pg_A.used--;
    pg_A.free_head = PG_NIL;
    pg_A.nfree = 0;
    for (uint32_t i = pg_A.used; i-- > 0;) {
        if (nodes[i].op == PG_FREE) {
            nodes[i].parent[0] = pg_A.free_head;
            pg_A.free_head = i;
            pg_A.nfree++;
        }
    }
    uint64_t cap = TRIM_FLOOR;
    while (cap < pg_A.used)
        cap *= 2;
    if (cap < pg_A.cap) { /* a block that fails to shrink serves as well */
        pg_node *smaller = realloc(nodes, (size_t)cap * sizeof(pg_node));
        if (smaller)
            pg_A.nodes = smaller;
        pg_side *side = realloc(pg_A.side, (size_t)cap * sizeof(pg_side));
        if (side)
            pg_A.side = side;
        pg_A.cap = (uint32_t)cap;
    }
}

int pg_release(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_node *nodes = pg_A.nodes;
    pg_side *side = pg_A.side;
    if (--side[i].refs)
        return PG_OK;
    /* Nodes whose count reached zero wait on a pending list threaded through
     * refs; each one freed releases its parents, which may join the list. A
     * chain of any length is freed in this one loop, without recursion. */
    uint32_t pending = i, freed = 0;
    side[i].refs = PG_NIL;
    while (pending != PG_NIL) {
        uint32_t j = pending;
        pg_node *n = &nodes[j];
        pending = side[j].refs;
        for (int k = 0; k < 2; k++) {
            uint32_t p = n->parent[k];
            if (p != PG_NIL && --side[p].refs == 0) {
                side[p].refs = pending;
                pending = p;
            }
        }
        ext_drop(&side[j]);
        n->op = PG_FREE;
        n->parent[0] = pg_A.free_head;
        pg_A.free_head = j;
        pg_A.nfree++;
        freed++;
    }
    pg_A.freed_since_trim += freed;
    if (pg_A.freed_since_trim > pg_A.used / 2)
        trim();
    return PG_OK;
}

double pg_data(uint32_t i)
{
    return pg_live(i) ? pg_A.nodes[i].data : NAN;
}

double pg_grad(uint32_t i)
{
    return pg_live(i) ? pg_A.nodes[i].grad : NAN;
}

int pg_set_data(uint32_t i, double data)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_A.nodes[i].data = data;
    return PG_OK;
}

int pg_set_grad(uint32_t i, double grad)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_A.nodes[i].grad = grad;
    return PG_OK;
}

int pg_op(uint32_t i)
{
    return pg_live(i) ? pg_A.nodes[i].op : PG_EINDEX;
}

double pg_const(uint32_t i)
{
    if (!pg_live(i))
        return NAN;
    const pg_node *n = &pg_A.nodes[i];
    return n->op == PG_POWK ? pg_A.nodes[n->parent[1]].data : 0.0;
}

int64_t pg_parent(uint32_t i, int k)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (k < 0 || k >= pg_arity(pg_A.nodes[i].op))
        return PG_EARG;
    return pg_A.nodes[i].parent[k];
}

int pg_set_label(uint32_t i, const char *s)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_side *n = &pg_A.side[i];
    if (!s || !*s) {
        if (n->ext)
            label_drop(&pg_A.ext[n->ext - 1]);
        return PG_OK;
    }
    size_t len = strlen(s) + 1;
    char *copy = pg_realloc(NULL, len);
    if (!copy)
        return PG_ENOMEM;
    pg_ext *x = pg_ext_of(i);
    if (!x) {
        free(copy);
        return PG_ENOMEM;
    }
    memcpy(copy, s, len);
    label_drop(x);
    x->label = copy;
    pg_A.label_bytes += len;
    return PG_OK;
}

const char *pg_label(uint32_t i)
{
    if (!pg_live(i) || !pg_A.side[i].ext)
        return NULL;
    return pg_A.ext[pg_A.side[i].ext - 1].label;
}

int pg_set_data_many(const uint32_t *idx, const double *data, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!pg_live(idx[k]) || pg_A.nodes[idx[k]].op != PG_LEAF)
            return pg_live(idx[k]) ? PG_EARG : PG_EINDEX;
    for (size_t k = 0; k < n; k++)
        pg_A.nodes[idx[k]].data = data[k];
    return PG_OK;
}

void pg_get_stats(pg_stats *out)
{
    out->live_nodes = (uint64_t)pg_A.used - pg_A.nfree;
    out->capacity = pg_A.cap;
    out->bytes = (uint64_t)pg_A.cap * (sizeof(pg_node) + sizeof(pg_side))
                 + (uint64_t)pg_A.log_cap * sizeof(uint32_t)
                 + (pg_A.log ? (uint64_t)(pg_A.log_cap / 64 + 1) * sizeof(uint64_t) : 0)
                 + (uint64_t)pg_A.ext_cap * sizeof(pg_ext)
                 + pg_A.order_bytes + pg_A.label_bytes;
    out->cached_orders = pg_A.norders;
    out->order_bytes = pg_A.order_bytes;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PG_ASAN 1
#endif

const char *pg_build(void)
{
#if defined(PG_ASAN) && defined(PG_UBSAN)
    return "address,undefined";
#elif defined(PG_ASAN)
    return "address";
#elif defined(PG_UBSAN)
    return "undefined";
#else
    return "release";
#endif
}

void pg_test_fail_alloc(uint32_t n)
{
    pg_A.fail_countdown = n;
}

void pg_test_node_limit(uint32_t n)
{
    pg_A.limit = n ? n : PG_NIL;
}
