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

int pg_reserve(uint32_t n)
{
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
    pg_node *nodes = pg_realloc(pg_A.nodes, (size_t)cap * sizeof(pg_node));
    if (!nodes)
        return PG_ENOMEM;
    pg_A.nodes = nodes;
    pg_A.cap = (uint32_t)cap;
    return PG_OK;
}

uint32_t pg_node_new(uint8_t op, double data, uint32_t p0, uint32_t p1, double k)
{
    uint32_t i;
    if (pg_A.free_head != PG_NIL) {
        i = pg_A.free_head;
        pg_A.free_head = pg_A.nodes[i].aux;
        pg_A.nfree--;
    } else {
        i = pg_A.used++;
    }
    pg_node *n = &pg_A.nodes[i];
    n->data = data;
    n->grad = 0.0;
    n->k = k;
    n->parent[0] = p0;
    n->parent[1] = p1;
    n->refs = 1;
    n->aux = 0;
    n->ext = 0;
    n->op = op;
    if (p0 != PG_NIL)
        pg_A.nodes[p0].refs++;
    if (p1 != PG_NIL)
        pg_A.nodes[p1].refs++;
    return i;
}

pg_ext *pg_ext_of(uint32_t i)
{
    pg_node *n = &pg_A.nodes[i];
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

/* Frees node i's ext record, if it has one, and what that record owns. */
static void ext_drop(pg_node *n)
{
    if (!n->ext)
        return;
    uint32_t e = n->ext - 1;
    pg_ext *x = &pg_A.ext[e];
    if (x->label) {
        pg_A.label_bytes -= strlen(x->label) + 1;
        free(x->label);
    }
    if (x->order) {
        pg_A.order_bytes -= (uint64_t)x->norder * sizeof(uint32_t);
        pg_A.norders--;
        free(x->order);
    }
    x->label = NULL;
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
    pg_A.nodes[i].refs++;
    return PG_OK;
}

/* Arenas up to this many slots (12.6 MB) are never shrunk, so that a loop
 * that builds and drops graphs of up to this size does not regrow each time. */
#define TRIM_FLOOR (1u << 18)

/* Gives memory back after a large release: drops free slots off the top of
 * the arena, relinks the free list in index order so that new nodes fill the
 * low slots first, and shrinks the block to the next power of two at or above
 * TRIM_FLOOR. Indices of live nodes do not change. Costs one scan of the
 * slots in use, paid for by the more than used / 2 frees since the last trim. */
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
            nodes[i].aux = pg_A.free_head;
            pg_A.free_head = i;
            pg_A.nfree++;
        }
    }
    uint64_t cap = TRIM_FLOOR;
    while (cap < pg_A.used)
        cap *= 2;
    if (cap < pg_A.cap) {
        pg_node *smaller = realloc(nodes, (size_t)cap * sizeof(pg_node));
        if (smaller) { /* on failure the larger block serves as well */
            pg_A.nodes = smaller;
            pg_A.cap = (uint32_t)cap;
        }
    }
}

int pg_release(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_node *nodes = pg_A.nodes;
    if (--nodes[i].refs)
        return PG_OK;
    /* Nodes whose count reached zero wait on a pending list threaded through
     * aux; each one freed releases its parents, which may join the list. A
     * chain of any length is freed in this one loop, without recursion. */
    uint32_t pending = i, freed = 0;
    nodes[i].aux = PG_NIL;
    while (pending != PG_NIL) {
        uint32_t j = pending;
        pg_node *n = &nodes[j];
        pending = n->aux;
        for (int k = 0; k < 2; k++) {
            uint32_t p = n->parent[k];
            if (p != PG_NIL && --nodes[p].refs == 0) {
                nodes[p].aux = pending;
                pending = p;
            }
        }
        ext_drop(n);
        n->op = PG_FREE;
        n->aux = pg_A.free_head;
        pg_A.free_head = j;
        pg_A.nfree++;
        freed++;
    }
    pg_A.freed_since_trim += freed;
    if (pg_A.cap > TRIM_FLOOR && pg_A.freed_since_trim > pg_A.used / 2)
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
    return pg_live(i) ? pg_A.nodes[i].k : NAN;
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
    pg_node *n = &pg_A.nodes[i];
    if (!s || !*s) {
        if (n->ext && pg_A.ext[n->ext - 1].label) {
            pg_ext *x = &pg_A.ext[n->ext - 1];
            pg_A.label_bytes -= strlen(x->label) + 1;
            free(x->label);
            x->label = NULL;
        }
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
    if (x->label) {
        pg_A.label_bytes -= strlen(x->label) + 1;
        free(x->label);
    }
    x->label = copy;
    pg_A.label_bytes += len;
    return PG_OK;
}

const char *pg_label(uint32_t i)
{
    if (!pg_live(i) || !pg_A.nodes[i].ext)
        return NULL;
    return pg_A.ext[pg_A.nodes[i].ext - 1].label;
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
    out->bytes = (uint64_t)pg_A.cap * sizeof(pg_node)
                 + (uint64_t)pg_A.ext_cap * sizeof(pg_ext)
                 + pg_A.order_bytes + pg_A.label_bytes;
    out->cached_orders = pg_A.norders;
    out->order_bytes = pg_A.order_bytes;
}

void pg_test_fail_alloc(uint32_t n)
{
    pg_A.fail_countdown = n;
}

void pg_test_node_limit(uint32_t n)
{
    pg_A.limit = n ? n : PG_NIL;
}
