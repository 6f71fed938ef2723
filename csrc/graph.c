/* graph.c: passes over the graph under a root: its topological order,
 * computed without recursion and kept while the root lives; backpropagation;
 * and replay. */
#include <stdlib.h>

#include "rules.h"

/* Lists root and the non-leaf nodes under it into a new array, root first
 * and every node before its parents, and returns their number. With
 * backprop, it also does pg_backward's work on the way, so that a first
 * backward reads the graph twice rather than four times. */
static int64_t sort(uint32_t root, uint32_t **out, int backprop, double seed)
{
    pg_node *nodes = pg_A.nodes;
    /* Every node under root is live, so the live count bounds the list and
     * the passes below never grow it; the unused tail is given back after.
     * This is the only allocation: past it, nothing can fail. */
    size_t cap = (size_t)(pg_A.used - pg_A.nfree);
    uint32_t *buf = pg_realloc(NULL, cap * sizeof(uint32_t));
    if (!buf)
        return PG_ENOMEM;
    uint32_t n = 1;
    buf[0] = root;
    if (backprop && nodes[root].op != PG_LEAF)
        nodes[root].grad = 0.0;

    /* Pass 1, breadth first from root: list each non-leaf node under root
     * once, and count in its aux the links from listed children to it. A
     * node is new while its count is 0; root has no children under itself and
     * stays 0. Leaves are neither listed nor counted: no pass needs them, and
     * their gradients come from their children's rules. With backprop, a
     * listed node's grad is reset when it is found. */
    for (uint32_t r = 0; r < n; r++) {
        const pg_node *x = &nodes[buf[r]];
        for (int k = 0; k < pg_arity(x->op); k++) {
            pg_node *p = &nodes[x->parent[k]];
            if (p->op != PG_LEAF && p->aux++ == 0) {
                buf[n++] = x->parent[k];
                if (backprop)
                    p->grad = 0.0;
            }
        }
    }
    if (backprop)
        nodes[root].grad += seed;

    /* Pass 2, Kahn's algorithm on child links: a node is emitted once its
     * last child under root has been, and then releases its parents. The
     * emitted prefix overwrites pass 1's list, which is no longer needed, and
     * every count returns to 0 on the way. When a node is read here all its
     * children have passed it their gradient, so with backprop it passes its
     * own on before releasing its parents. */
    uint32_t w = 1;
    for (uint32_t r = 0; r < w; r++) {
        const pg_node *x = &nodes[buf[r]];
        if (backprop)
            backward_rule(nodes, x);
        for (int k = 0; k < pg_arity(x->op); k++) {
            pg_node *p = &nodes[x->parent[k]];
            if (p->op != PG_LEAF && --p->aux == 0)
                buf[w++] = x->parent[k];
        }
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
    uint32_t e = pg_A.nodes[root].ext;
    if (!e || !pg_A.ext[e - 1].order)
        return NULL;
    *n = pg_A.ext[e - 1].norder;
    return pg_A.ext[e - 1].order;
}

/* Sorts root (backprop: see sort) and keeps the order with root. */
static int64_t sort_and_keep(uint32_t root, const uint32_t **out, int backprop, double seed)
{
    pg_ext *x = pg_ext_of(root);
    if (!x)
        return PG_ENOMEM;
    uint32_t *order;
    int64_t n = sort(root, &order, backprop, seed);
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
    return sort_and_keep(root, out, 0, 0.0);
}

int pg_backward(uint32_t root, double seed)
{
    if (!pg_live(root))
        return PG_EINDEX;
    int64_t n;
    const uint32_t *order = kept_order(root, &n);
    if (!order) {
        int64_t s = sort_and_keep(root, &order, 1, seed);
        return s < 0 ? (int)s : PG_OK;
    }
    pg_node *nodes = pg_A.nodes;
    if (nodes[root].op == PG_LEAF) { /* its order is itself */
        nodes[root].grad += seed;
        return PG_OK;
    }
    for (int64_t j = 0; j < n; j++)
        nodes[order[j]].grad = 0.0;
    nodes[root].grad += seed;
    for (int64_t j = 0; j < n; j++) /* children before parents */
        backward_rule(nodes, &nodes[order[j]]);
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
