/* ops.c: building nodes. Each operation's value comes from its rule in
 * rules.h; in no-grad mode the result is a leaf. */
#include <stdlib.h>

#include "rules.h"

/* The calling thread's grad mode (pg_grad_mode). */
static _Thread_local int recording = 1;

/* pg_defer_interrupt: the address of the thread-local `me` of the thread whose
 * next building call returns PG_EINTR, or NULL. Read and written with the
 * caller's lock held (the GIL, for pygrad), like the arena. */
static _Thread_local char me;
static char *interrupted;

void pg_defer_interrupt(void)
{
    interrupted = &me;
}

int pg_take_interrupt(void)
{
    int was = interrupted != NULL;
    interrupted = NULL;
    return was;
}

/* PG_EINTR, once, if an interruption of this thread was put off. */
#define RETURN_IF_INTERRUPTED()          \
    do {                                 \
        if (interrupted == &me) {        \
            interrupted = NULL;          \
            return PG_EINTR;             \
        }                                \
    } while (0)

/* ---- Building. */

/* Creates op(p0, p1) with one reference for the caller, or in no-grad mode
 * a leaf holding its value. The caller has reserved one slot. */
static uint32_t make(uint8_t op, uint32_t p0, uint32_t p1)
{
    pg_node t = {.op = op, .parent = {p0, p1}};
    double out = forward_rule(pg_A.nodes, &t);
    if (!recording)
        return pg_node_new(PG_LEAF, out, PG_NIL, PG_NIL);
    return pg_node_new(op, out, p0, p1);
}

int64_t pg_leaf(double data)
{
    RETURN_IF_INTERRUPTED();
    int s = pg_reserve(1);
    if (s != PG_OK)
        return s;
    return pg_node_new(PG_LEAF, data, PG_NIL, PG_NIL);
}

int64_t pg_unary(uint8_t op, uint32_t x)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_live(x))
        return PG_EINDEX;
    if (op < PG_NEG || op > PG_COS)
        return PG_EARG;
    if (!pg_can_ref(x))
        return PG_EFULL;
    int s = pg_reserve(1);
    if (s != PG_OK)
        return s;
    return make(op, x, PG_NIL);
}

int64_t pg_powk(uint32_t x, double k)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_live(x))
        return PG_EINDEX;
    if (!pg_can_ref(x))
        return PG_EFULL;
    int s = pg_reserve(2);
    if (s != PG_OK)
        return s;
    /* k goes in a leaf of its own, the node's hidden second parent */
    uint32_t c = pg_node_new(PG_LEAF, k, PG_NIL, PG_NIL);
    uint32_t r = make(PG_POWK, x, c);
    pg_release(c); /* now owned by r alone, or in no-grad mode freed */
    return r;
}

int64_t pg_binary(uint8_t op, uint32_t x, uint32_t y)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_live(x) || !pg_live(y))
        return PG_EINDEX;
    if (op < PG_ADD || op > PG_POW)
        return PG_EARG;
    if (!pg_can_ref(x) || !pg_can_ref(y))
        return PG_EFULL;
    int s = pg_reserve(1);
    if (s != PG_OK)
        return s;
    return make(op, x, y);
}

int64_t pg_binary_k(uint8_t op, uint32_t x, double k, int k_left)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_live(x))
        return PG_EINDEX;
    if (op < PG_ADD || op > PG_POW)
        return PG_EARG;
    if (!pg_can_ref(x))
        return PG_EFULL;
    int s = pg_reserve(2);
    if (s != PG_OK)
        return s;
    uint32_t c = pg_node_new(PG_LEAF, k, PG_NIL, PG_NIL);
    uint32_t r = k_left ? make(op, c, x) : make(op, x, c);
    pg_release(c); /* now owned by r alone, or in no-grad mode freed */
    return r;
}

int64_t pg_nary(uint8_t op, const uint32_t *idx, const double *k, size_t n)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_is_nary(op) || n == 0 || n >= UINT32_MAX)
        return PG_EARG;
    size_t leaves = 0;
    for (size_t j = 0; j < n; j++) {
        if (idx[j] == PG_NIL) {
            if (!k)
                return PG_EARG;
            leaves++;
        } else if (!pg_live(idx[j])) {
            return PG_EINDEX;
        }
    }
    if (leaves > UINT32_MAX - 2)
        return PG_EFULL;
    /* Each operand takes a reference, repeated ones several: take them one
     * by one, and give them back if a count would overflow. */
    size_t taken = 0;
    for (; taken < n; taken++) {
        uint32_t i = idx[taken];
        if (i == PG_NIL)
            continue;
        if (!pg_can_ref(i))
            break;
        pg_A.side[i].refs++;
    }
    uint32_t *operands = NULL;
    int s = taken < n ? PG_EFULL : pg_reserve((uint32_t)leaves + 1);
    if (s == PG_OK && !(operands = pg_realloc(NULL, (n + 1) * sizeof(uint32_t))))
        s = PG_ENOMEM;
    if (s != PG_OK) {
        for (size_t j = 0; j < taken; j++)
            if (idx[j] != PG_NIL)
                pg_A.side[idx[j]].refs--;
        return s;
    }
    /* From here nothing fails. A number becomes a leaf whose one reference
     * is the link from this node, as pg_binary_k's constant. */
    operands[0] = (uint32_t)n;
    for (size_t j = 0; j < n; j++) {
        if (idx[j] != PG_NIL) {
            operands[j + 1] = idx[j];
        } else {
            uint32_t c = pg_node_new(PG_LEAF, k[j], PG_NIL, PG_NIL);
            pg_A.nodes[c].holds = 0;
            operands[j + 1] = c;
        }
    }
    uint32_t r = pg_node_new(op, 0.0, PG_NIL, PG_NIL);
    pg_node *node = &pg_A.nodes[r];
    node->operands = operands;
    node->data = nary_forward(pg_A.nodes, node);
    if (!recording) { /* a leaf with the value; the operands are let go */
        node->op = PG_LEAF;
        node->parent[0] = node->parent[1] = PG_NIL;
        for (size_t j = 1; j <= n; j++)
            pg_unlink(operands[j]);
        free(operands);
    }
    return r;
}

int pg_grad_mode(int enabled)
{
    int prev = recording;
    recording = enabled != 0;
    return prev;
}
