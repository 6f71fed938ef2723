/* graph.c: passes over the graph under a root: its topological order,
 * computed without recursion and kept while the root lives; backpropagation;
 * and replay. */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* Lists root and the non-leaf nodes under it into a new array, in descending
 * creation order (so root first and every node before its operands), and
 * returns their number. With backprop, it also does pg_backward's work on the
 * way. One pass down the creation log from root's entry: marks (one bit an
 * entry, so a stretch of unrelated or stale entries is crossed 64 to a word)
 * flag the nodes found under root and not yet reached, and the pass ends when
 * none is left. A node is reached after every node made later, so after all
 * its children: with backprop, they have all passed it their gradient. */
static int64_t sweep(uint32_t root, uint32_t **out, int backprop, double seed)
{
    pg_node *nodes = pg_A.nodes;
    const uint32_t *log = pg_A.log;
    uint64_t *marks = pg_A.marks;
    uint32_t top = nodes[root].pos;
    /* Every node listed is live and logged at or below top. This is the only
     * allocation: past it, nothing can fail. */
    size_t live = (size_t)(pg_A.used - pg_A.nfree);
    size_t cap = live < (size_t)top + 1 ? live : (size_t)top + 1;
    uint32_t *buf = pg_realloc(NULL, cap * sizeof(uint32_t));
    if (!buf)
        return PG_ENOMEM;
    uint32_t n = 0, waiting = 1;
    if (nodes[root].op == PG_LEAF) { /* nothing under it */
        buf[n++] = root;
        waiting = 0;
        if (backprop)
            nodes[root].grad += seed;
    } else if (backprop) {
        nodes[root].grad = 0.0;
        nodes[root].grad += seed;
    }
    if (waiting)
        marks[top >> 6] |= (uint64_t)1 << (top & 63);
    for (uint32_t q = top; waiting; q--) {
        /* the marks at or below q, q's own as the top bit */
        uint64_t below = marks[q >> 6] << (63 - (q & 63));
        if (!(below >> 63)) { /* go on from the next mark below */
            q = below ? q - (uint32_t)__builtin_clzll(below) + 1 : q & ~63u;
            continue;
        }
        marks[q >> 6] &= ~((uint64_t)1 << (q & 63));
        waiting--;
        const pg_node *x = &nodes[log[q]];
        buf[n++] = log[q];
        for (int k = 0; k < pg_arity(x->op); k++) {
            pg_node *p = &nodes[x->parent[k]];
            uint64_t bit = (uint64_t)1 << (p->pos & 63);
            if (p->op != PG_LEAF && !(marks[p->pos >> 6] & bit)) {
                marks[p->pos >> 6] |= bit;
                waiting++;
                if (backprop)
                    p->grad = 0.0;
            }
        }
        if (backprop)
            backward_rule(nodes, x);
    }

    if (n < cap) {
        uint32_t *b = realloc(buf, (size_t)n * sizeof(uint32_t));
        if (b) /* on failure the larger block serves as well */
            buf = b;
    }
    *out = buf;
    return n;
}

/* The kept order of root, or NULL; *n gets its length. */
static const uint32_t *kept_order(uint32_t root, int64_t *n)
{
    uint32_t e = pg_A.side[root].ext;
    if (!e || !pg_A.ext[e - 1].order)
        return NULL;
    *n = pg_A.ext[e - 1].norder;
    return pg_A.ext[e - 1].order;
}

/* Lists root (see sweep) and keeps the order with root. */
static int64_t sweep_and_keep(uint32_t root, const uint32_t **out, int backprop, double seed)
{
    pg_ext *x = pg_ext_of(root);
    if (!x)
        return PG_ENOMEM;
    uint32_t *order;
    int64_t n = sweep(root, &order, backprop, seed);
    if (n < 0)
        return n; /* an ext record left empty is harmless and reused */
    x->order = order;
    x->norder = (uint32_t)n;
    pg_A.norders++;
    pg_A.order_bytes += (uint64_t)n * sizeof(uint32_t);
    *out = order;
    return n;
}

int64_t pg_order(uint32_t root, const uint32_t **out)
{
    if (!pg_live(root))
        return PG_EINDEX;
    int64_t n;
    const uint32_t *order = kept_order(root, &n);
    if (order) {
        *out = order;
        return n;
    }
    return sweep_and_keep(root, out, 0, 0.0);
}

int pg_backward(uint32_t root, double seed)
{
    if (!pg_live(root))
        return PG_EINDEX;
    int64_t n;
    const uint32_t *order = kept_order(root, &n);
    if (!order) {
        int64_t s = sweep_and_keep(root, &order, 1, seed);
        return s < 0 ? (int)s : PG_OK;
    }
    pg_node *nodes = pg_A.nodes;
    if (nodes[root].op == PG_LEAF) { /* its order is itself */
        nodes[root].grad += seed;
        return PG_OK;
    }
    /* One pass, children before parents. A node's gradient is reset when
     * its first child under root reaches it (PG_SEEN marks that), and the
     * mark is cleared when the node itself passes its gradient on; root has
     * no children under itself and is reset here. */
    nodes[root].grad = 0.0;
    nodes[root].grad += seed;
    for (int64_t j = 0; j < n; j++) {
        pg_node *x = &nodes[order[j]];
        x->flags &= ~PG_SEEN;
        for (int k = 0; k < pg_arity(x->op); k++) {
            pg_node *p = &nodes[x->parent[k]];
            if (p->op != PG_LEAF && !(p->flags & PG_SEEN)) {
                p->flags |= PG_SEEN;
                p->grad = 0.0;
            }
        }
        backward_rule(nodes, x);
    }
    return PG_OK;
}

int pg_forward(uint32_t root)
{
    const uint32_t *order;
    int64_t n = pg_order(root, &order);
    if (n < 0)
        return (int)n;
    pg_node *nodes = pg_A.nodes;
    for (int64_t j = n - 1; j >= 0; j--) { /* parents before children */
        pg_node *x = &nodes[order[j]];
        x->data = forward_rule(nodes, x); /* a leaf root keeps its data */
    }
    return PG_OK;
}
