/* graph.c: passes over the graph under a root. All follow one order: the
 * reverse of the order the nodes were made in, which arena.h's creation log
 * records. It is a topological order, as a node's operands exist before it,
 * and it depends only on the order of the operations, so that replayed and
 * rebuilt graphs add up their gradients alike. Nothing here recurses. */
#include <stdlib.h>

#include "rules.h"

/* Operand i of a node the pass reached: marks it found, unless it is a leaf
 * or found already, and with backprop resets its gradient. Returns 1 when it
 * was newly found. */
PG_HOT int find(pg_node *nodes, pg_value *val, uint64_t *marks, uint32_t i, int backprop)
{
    pg_node *p = &nodes[i];
    if (p->op == PG_LEAF || (p->flags & PG_SEEN))
        return 0;
    p->flags |= PG_SEEN;
    marks[p->pos >> 6] |= (uint64_t)1 << (p->pos & 63);
    if (backprop)
        val[i].grad = 0.0;
    return 1;
}

/* find() on each operand of n-ary node x: the number newly found. Out of
 * line, so that the sweep's loop keeps its registers for the one- and
 * two-operand nodes of a chain. */
static __attribute__((noinline, cold)) uint32_t find_operands(pg_node *nodes, pg_value *val,
                                                        uint64_t *marks, const pg_node *x,
                                                        int backprop)
{
    uint32_t newly = 0;
    PG_EACH_OPERAND_AHEAD(x, o, {
        __builtin_prefetch(&nodes[o], 1);
        if (backprop)
            __builtin_prefetch(&val[o], 1);
    }, newly += find(nodes, val, marks, o, backprop));
    return newly;
}

/* One pass down the creation log from root's entry. A node found under root
 * and not yet reached carries PG_SEEN and a mark on its log entry (one bit an
 * entry, so a stretch of unrelated or stale entries is crossed 64 at a time);
 * the pass ends when none is left. Each node is reached after every node made
 * later, so after all its children under root. With order, lists root and the
 * non-leaf nodes under it there, root first. With backprop, does pg_backward's
 * work: a node's gradient is reset when found, and passed on when reached.
 * Stops once max nodes are reached: the nodes found and not reached keep
 * PG_SEEN and their marks, which the caller clears (pg_nearest), and the
 * marks of the word the pass stopped in are cleared here. Returns the number
 * of nodes reached. Allocates nothing, cannot fail. */
PG_HOT uint32_t sweep(uint32_t root, uint32_t *order, int backprop, double seed,
                      uint32_t max)
{
    pg_node *nodes = pg_A.nodes;
    pg_value *val = pg_A.val;
    const uint32_t *log = pg_A.log;
    uint64_t *marks = pg_A.marks;
    if (nodes[root].op == PG_LEAF) { /* nothing under it */
        if (order)
            order[0] = root;
        if (backprop)
            val[root].grad += seed;
        return 1;
    }
    if (backprop) {
        val[root].grad = 0.0;
        val[root].grad += seed;
    }
    uint32_t top = nodes[root].pos, n = 0, waiting = 1;
    nodes[root].flags |= PG_SEEN;
    marks[top >> 6] |= (uint64_t)1 << (top & 63);
    for (uint32_t q = top; waiting; q--) {
        /* the marks at or below q, q's own as the top bit */
        uint64_t below = marks[q >> 6] << (63 - (q & 63));
        if (!(below >> 63)) { /* go on from the next mark below */
            if (below) {
                q -= (uint32_t)__builtin_clzll(below) - 1;
            } else { /* every mark in this word has been reached */
                marks[q >> 6] = 0;
                q &= ~63u;
            }
            continue;
        }
        waiting--;
        uint32_t i = log[q];
        pg_node *x = &nodes[i];
        if (order)
            order[n] = i;
        n++;
        x->flags &= ~PG_SEEN;
        if (x->op < PG_SUM) { /* one or two operands, held in the node */
            waiting += find(nodes, val, marks, x->parent[0], backprop);
            if (x->op <= PG_LAST_BINARY)
                waiting += find(nodes, val, marks, x->parent[1], backprop);
        } else {
            waiting += find_operands(nodes, val, marks, x, backprop);
        }
        if (backprop)
            backward_rule(val, x, i);
        /* (max is UINT32_MAX for backprop, a constant that drops the count
         * from its loop.) */
        int full = max != UINT32_MAX && n == max;
        if ((q & 63) == 0 || !waiting || full) { /* leaving this word, or done */
            marks[q >> 6] = 0;
            if (full)
                break;
        }
    }
    return n;
}

/* Root's kept order, or NULL when none is kept: a lookup that allocates
 * nothing and leaves the kept-order list as it is. */
static const uint32_t *kept_order(uint32_t root, uint32_t *n)
{
    const pg_ext *x = pg_ext_find(root);
    if (!x || !x->order)
        return NULL;
    *n = x->norder;
    return x->order;
}

int64_t pg_order(uint32_t root, const uint32_t **out)
{
    if (!pg_live(root))
        return PG_EINDEX;
    uint32_t kept;
    if ((*out = kept_order(root, &kept))) {
        pg_order_touch(pg_ext_find(root));
        return kept;
    }
    pg_ext *x = pg_ext_of(root);
    if (!x)
        return PG_ENOMEM;
    /* Every node listed is live and logged at or below root's entry. An ext
     * record left empty on failure is harmless and reused. */
    size_t live = (size_t)(pg_A.used - pg_A.nfree);
    size_t top = (size_t)pg_A.nodes[root].pos + 1;
    size_t cap = live < top ? live : top;
    uint32_t *order = pg_realloc(NULL, cap * sizeof(uint32_t));
    if (!order)
        return PG_ENOMEM;
    uint32_t n = sweep(root, order, 0, 0.0, UINT32_MAX);
    if (n < cap) {
        uint32_t *b = realloc(order, (size_t)n * sizeof(uint32_t));
        if (b) /* on failure the larger block serves as well */
            order = b;
    }
    pg_order_keep(x, order, n);
    *out = order;
    return n;
}

int64_t pg_nearest(uint32_t root, uint32_t *out, uint32_t max, int *more)
{
    if (!pg_live(root))
        return PG_EINDEX;
    if (max == 0)
        return PG_EARG;
    uint32_t n = sweep(root, out, 0, 0.0, max);
    *more = 0;
    for (uint32_t j = 0; j < n; j++) { /* found, not reached: the cut */
        const pg_node *x = &pg_A.nodes[out[j]];
        uint32_t count;
        const uint32_t *operands = pg_operands(x, &count);
        for (uint32_t k = 0; k < count; k++) {
            pg_node *p = &pg_A.nodes[pg_operand(x, operands, count, k)];
            if (p->flags & PG_SEEN) {
                p->flags &= ~PG_SEEN;
                pg_A.marks[p->pos >> 6] &= ~((uint64_t)1 << (p->pos & 63));
                *more = 1;
            }
        }
    }
    return n;
}

/* pg_backward over root's kept order (n nodes): the same nodes in the same
 * order as the sweep, with the same resets, and no search. Kept out of
 * line, so that the sweep's loop is compiled as it is alone. */
static __attribute__((noinline)) void walk_back(uint32_t root, const uint32_t *order,
                                                uint32_t n, double seed)
{
    const pg_node *nodes = pg_A.nodes;
    pg_value *val = pg_A.val;
    for (uint32_t j = 0; j < n; j++)
        val[order[j]].grad = 0.0;
    val[root].grad += seed;
    for (uint32_t j = 0; j < n; j++)
        backward_rule(val, &nodes[order[j]], order[j]);
}

int pg_backward(uint32_t root, double seed)
{
    if (!pg_live(root))
        return PG_EINDEX;
    uint32_t n;
    const uint32_t *order = kept_order(root, &n);
    if (!order || pg_A.nodes[root].op == PG_LEAF) { /* found on the way down */
        sweep(root, NULL, 1, seed, UINT32_MAX);
        return PG_OK;
    }
    walk_back(root, order, n, seed);
    return PG_OK;
}

/* Whether the four nodes idx[0..3] are rows of one dense layer, for
 * dot4_forward: PG_RUNS dots with one count and one run of inputs, none of
 * them an operand of another. */
static int rows_of_a_layer(const pg_node *nodes, const uint32_t *idx)
{
    uint32_t count, c;
    const uint32_t *v0 = pg_operands(&nodes[idx[0]], &count);
    uint32_t pairs = count / 2;
    for (int k = 0; k < 4; k++) {
        const pg_node *n = &nodes[idx[k]];
        if (n->op != PG_DOT || !(n->flags & PG_RUNS))
            return 0;
        const uint32_t *v = pg_operands(n, &c);
        if (c != count || v[1] != v0[1])
            return 0;
    }
    for (int k = 0; k < 4; k++) {
        const uint32_t *v = pg_operands(&nodes[idx[k]], &c);
        for (int m = 0; m < 4; m++) {
            uint32_t i = idx[m];
            if ((i >= v[0] && i - v[0] < pairs) || (i >= v[1] && i - v[1] < pairs)
                || ((count & 1) && i == v[2]))
                return 0;
        }
    }
    return 1;
}

int pg_forward(uint32_t root)
{
    const uint32_t *order;
    int64_t n = pg_order(root, &order);
    if (n < 0)
        return (int)n;
    const pg_node *nodes = pg_A.nodes;
    pg_value *val = pg_A.val;
    for (int64_t j = n - 1; j >= 0; j--) { /* parents before children */
        const pg_node *x = &nodes[order[j]];
        if (x->op == PG_DOT && j >= 3 && rows_of_a_layer(nodes, order + j - 3)) {
            dot4_forward(val, order + j - 3, nodes); /* four rows of a layer */
            j -= 3;
        } else if (x->op != PG_LEAF) { /* a leaf root keeps its data */
            val[order[j]].data = forward_rule(val, x);
        }
    }
    return PG_OK;
}

int pg_backward_node(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (pg_A.nodes[i].op != PG_LEAF)
        backward_rule(pg_A.val, &pg_A.nodes[i], i);
    return PG_OK;
}

int64_t pg_local_grads(uint32_t i, double *out, size_t max)
{
    if (!pg_live(i))
        return PG_EINDEX;
    uint32_t count;
    pg_operands(&pg_A.nodes[i], &count);
    local_rule(pg_A.val, &pg_A.nodes[i], i, out, max < count ? (uint32_t)max : count);
    return count;
}
