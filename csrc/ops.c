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
    double out = forward_rule(pg_A.val, &t);
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
    if (op < PG_NEG || op > PG_SIGN)
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
    if (op < PG_ADD || op > PG_LAST_BINARY)
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
    if (op < PG_ADD || op > PG_LAST_BINARY)
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

/* ---- N-ary nodes. An operand given as PG_NIL with a number becomes a new
 * leaf whose references are all links from the nodes made with it. */

/* Takes back `by` links from each node idx[j] that is not PG_NIL, j < n,
 * that take_links added; none reaches 0 here. */
static void give_links(const uint32_t *idx, size_t n, uint32_t by)
{
    for (size_t j = 0; j < n; j++)
        if (idx[j] != PG_NIL)
            pg_A.side[idx[j]].refs -= by;
}

/* Adds `by` links to each node idx[j] that is not PG_NIL, for j < n, one at
 * a time (an index may repeat); if a count would overflow, takes back all it
 * added and returns 0. */
static int take_links(const uint32_t *idx, size_t n, uint32_t by)
{
    size_t j = 0;
    for (; j < n; j++) {
        uint32_t i = idx[j];
        if (i == PG_NIL)
            continue;
        if ((uint64_t)pg_A.side[i].refs + by >= PG_MOST_REFS)
            break;
        pg_A.side[i].refs += by;
    }
    if (j == n)
        return 1;
    give_links(idx, j, by);
    return 0;
}

/* PG_EINDEX unless every idx[j] names a live node or is PG_NIL, and
 * PG_EARG if one is PG_NIL without numbers k; else the number of PG_NIL. */
static int64_t count_numbers(const uint32_t *idx, const double *k, size_t n)
{
    int64_t numbers = 0;
    for (size_t j = 0; j < n; j++) {
        if (idx[j] == PG_NIL) {
            if (!k)
                return PG_EARG;
            numbers++;
        } else if (!pg_live(idx[j])) {
            return PG_EINDEX;
        }
    }
    return numbers;
}

/* Whether runs of `pairs` indices from w and from x are one run or do not
 * overlap. */
static int apart(uint32_t w, uint32_t x, uint32_t pairs)
{
    return w == x || (w < x ? x - w : w - x) >= pairs;
}

/* Whether idx[0 .. n-1] are consecutive indices (so below PG_NIL). */
static int consecutive(const uint32_t *idx, size_t n)
{
    for (size_t j = 1; j < n; j++)
        if (idx[0] >= PG_NIL - j || idx[j] != idx[0] + j)
            return 0;
    return 1;
}

/* PG_RUNS for a PG_DOT node over operands v (count of them, no PG_NIL
 * among them) whose weights and inputs lie in runs that are the same or
 * apart; else 0. */
static uint8_t dot_runs(const uint32_t *v, uint32_t count)
{
    uint32_t pairs = count / 2;
    if (pairs < 2)
        return 0;
    uint32_t w = v[0], x = v[1];
    if (w > UINT32_MAX - pairs || x > UINT32_MAX - pairs || !apart(w, x, pairs))
        return 0;
    for (uint32_t j = 1; j < pairs; j++)
        if (v[2 * j] != w + j || v[2 * j + 1] != x + j)
            return 0;
    return PG_RUNS;
}

/* Fills a PG_RUNS dot's operand block as it keeps it (arena.h): its count,
 * its runs' first weight and first input, its bias or PG_NIL. */
static void runs_fill(uint32_t *v, uint32_t count, uint32_t w, uint32_t x, uint32_t bias)
{
    v[0] = count;
    v[1] = w;
    v[2] = x;
    v[3] = count & 1 ? bias : PG_NIL;
}

/* PG_RUNS for a dense layer's row over weights w[0 .. nin-1] and inputs x
 * (x_run: the inputs are, or will be, consecutive; new_run: as leaves made
 * past every node), as dot_runs would find it; else 0. */
static uint8_t row_runs(const uint32_t *w, const uint32_t *x, size_t nin, int x_run,
                        int new_run)
{
    if (nin < 2 || !x_run || !consecutive(w, nin))
        return 0;
    return new_run || apart(w[0], x[0], (uint32_t)nin) ? PG_RUNS : 0;
}

uint32_t pg_nary_node(uint8_t op, uint32_t *operands, uint8_t flags)
{
    uint32_t r = pg_node_new(op, 0.0, PG_NIL, PG_NIL);
    pg_node *node = &pg_A.nodes[r];
    node->operands = operands;
    node->flags = flags;
    pg_A.operand_bytes += pg_block_bytes(node);
    pg_A.val[r].data = nary_forward(pg_A.val, node);
    return r;
}

/* Turns n-ary node r into a leaf keeping its value, letting its operands go:
 * no-grad mode's result. */
static void nary_to_leaf(uint32_t r)
{
    pg_node *node = &pg_A.nodes[r];
    const pg_node was = *node; /* a copy: unlinking may move the arena */
    uint32_t *operands = was.operands, count = operands[0];
    pg_A.operand_bytes -= pg_block_bytes(&was);
    node->op = PG_LEAF;
    node->flags &= (uint8_t)~(PG_RUNS | PG_STRIDED);
    node->parent[0] = node->parent[1] = PG_NIL;
    for (uint32_t j = 0; j < count; j++)
        pg_unlink(pg_operand(&was, operands + 1, count, j));
    free(operands);
}

/* A new leaf for a number operand: no hold; the nodes made with it link it. */
static uint32_t number_leaf(double k, uint32_t links)
{
    uint32_t c = pg_node_new(PG_LEAF, k, PG_NIL, PG_NIL);
    pg_A.nodes[c].holds = 0;
    pg_A.side[c].refs = links;
    return c;
}

int64_t pg_nary(uint8_t op, const uint32_t *idx, const double *k, size_t n)
{
    RETURN_IF_INTERRUPTED();
    if (!pg_is_nary(op) || n == 0 || n >= UINT32_MAX)
        return PG_EARG;
    int64_t numbers = count_numbers(idx, k, n);
    if (numbers < 0)
        return numbers;
    if (!take_links(idx, n, 1))
        return PG_EFULL;
    /* A dot over runs of Values keeps only their starts; numbers' new
     * leaves are not counted on to be consecutive. */
    uint8_t flags = op == PG_DOT && numbers == 0 ? dot_runs(idx, (uint32_t)n) : 0;
    uint32_t *operands = NULL;
    int s = pg_reserve((uint32_t)numbers + 1);
    if (s == PG_OK && !(operands = pg_realloc(NULL, pg_block_size(n, flags))))
        s = PG_ENOMEM;
    if (s != PG_OK) {
        give_links(idx, n, 1);
        return s;
    }
    /* From here nothing fails. */
    if (flags & PG_RUNS) {
        runs_fill(operands, (uint32_t)n, idx[0], idx[1], idx[n - 1]);
    } else {
        operands[0] = (uint32_t)n;
        for (size_t j = 0; j < n; j++)
            operands[j + 1] = idx[j] != PG_NIL ? idx[j] : number_leaf(k[j], 1);
    }
    uint32_t r = pg_nary_node(op, operands, flags);
    if (!recording)
        nary_to_leaf(r);
    return r;
}

int64_t pg_dense(const uint32_t *w, const uint32_t *b, const uint32_t *x, const double *xk,
                 size_t nin, size_t nout, uint8_t act, const uint32_t *scopes, uint32_t *out)
{
    RETURN_IF_INTERRUPTED();
    if (nin == 0 || nout == 0 || nin > (UINT32_MAX - 3) / 2 || nout > (UINT32_MAX - 3) / 2
        || nin > SIZE_MAX / 8 / nout || (act != PG_LEAF && (act < PG_NEG || act > PG_SIGN)))
        return PG_EARG;
    int64_t numbers = count_numbers(x, xk, nin);
    if (numbers < 0)
        return numbers;
    int64_t bad = count_numbers(w, NULL, nin * nout);
    if (bad == 0 && b)
        bad = count_numbers(b, NULL, nout);
    if (bad < 0)
        return bad;
    uint64_t slots = (uint64_t)numbers + nout * (act != PG_LEAF ? 2u : 1u);
    if (slots > UINT32_MAX)
        return PG_EFULL;
    /* Links: one to each weight and bias, nout to each input. */
    if (!take_links(w, nin * nout, 1))
        return PG_EFULL;
    if (b && !take_links(b, nout, 1)) {
        give_links(w, nin * nout, 1);
        return PG_EFULL;
    }
    if (!take_links(x, nin, (uint32_t)nout)) {
        give_links(w, nin * nout, 1);
        if (b)
            give_links(b, nout, 1);
        return PG_EFULL;
    }
    /* Which rows are PG_RUNS dots, known before anything is allocated: a
     * row's weights are consecutive, and so are its inputs, which numbers
     * alone are once made side by side past the top slot. */
    int new_run = numbers == (int64_t)nin;
    int x_run = new_run || (numbers == 0 && consecutive(x, nin));
    size_t count = 2 * nin + (b ? 1 : 0), made = 0;
    uint32_t **operands = NULL, *xs = NULL;
    uint8_t *runs = NULL; /* each row's flags */
    int s = new_run ? pg_reserve_run((uint32_t)numbers) : PG_OK;
    if (s == PG_OK)
        s = pg_reserve((uint32_t)slots);
    if (s == PG_OK && scopes) /* a run for each dot and each activation */
        s = pg_scope_room((uint32_t)(2 * nout + 1));
    if (s == PG_OK && !(operands = pg_realloc(NULL, nout * sizeof *operands)))
        s = PG_ENOMEM;
    if (s == PG_OK && (!(xs = pg_realloc(NULL, nin * sizeof *xs))
                       || !(runs = pg_realloc(NULL, nout))))
        s = PG_ENOMEM;
    while (s == PG_OK && made < nout) { /* each neuron's operand block */
        runs[made] = row_runs(w + made * nin, x, nin, x_run, new_run);
        operands[made] = pg_realloc(NULL, pg_block_size(count, runs[made]));
        if (operands[made])
            made++;
        else
            s = PG_ENOMEM;
    }
    if (s != PG_OK) {
        while (made > 0)
            free(operands[--made]);
        free(operands);
        free(xs);
        free(runs);
        give_links(w, nin * nout, 1);
        if (b)
            give_links(b, nout, 1);
        give_links(x, nin, (uint32_t)nout);
        return s;
    }
    /* From here nothing fails. The inputs first, then every neuron's dot,
     * then every activation, so that the activations lie in one run: the
     * next layer's inputs. */
    uint32_t outer = pg_scope_now;
    if (new_run) {
        uint32_t first = pg_run_new((uint32_t)nin, xk);
        for (size_t i = 0; i < nin; i++) { /* as number_leaf's: links, no hold */
            pg_A.nodes[first + i].holds = 0;
            pg_A.side[first + i].refs = (uint32_t)nout;
            xs[i] = first + (uint32_t)i;
        }
    } else {
        for (size_t i = 0; i < nin; i++)
            xs[i] = x[i] != PG_NIL ? x[i] : number_leaf(xk[i], (uint32_t)nout);
    }
    for (size_t j = 0; j < nout; j++) {
        uint32_t *v = operands[j];
        if (runs[j]) {
            runs_fill(v, (uint32_t)count, w[j * nin], xs[0], b ? b[j] : PG_NIL);
        } else {
            v[0] = (uint32_t)count;
            for (size_t i = 0; i < nin; i++) {
                v[1 + 2 * i] = w[j * nin + i];
                v[2 + 2 * i] = xs[i];
            }
            if (b)
                v[count] = b[j];
        }
        if (scopes)
            pg_scope_switch(scopes[j]);
        out[j] = pg_nary_node(PG_DOT, v, runs[j]);
    }
    free(xs);
    free(runs);
    free(operands);
    if (act != PG_LEAF) {
        for (size_t j = 0; j < nout; j++) {
            uint32_t d = out[j];
            if (scopes)
                pg_scope_switch(scopes[j]);
            out[j] = make(act, d, PG_NIL);
            pg_A.nodes[d].holds = 0; /* the dot's hold becomes its activation's link */
            pg_unlink(d);
        }
    }
    if (scopes)
        pg_scope_switch(outer);
    if (!recording) {
        for (size_t j = 0; j < nout; j++)
            if (pg_A.nodes[out[j]].op == PG_DOT)
                nary_to_leaf(out[j]);
    }
    return PG_OK;
}

int64_t pg_leaves(const double *data, size_t n)
{
    RETURN_IF_INTERRUPTED();
    if (n == 0 || n >= UINT32_MAX)
        return PG_EARG;
    int s = pg_reserve_run((uint32_t)n);
    if (s != PG_OK)
        return s;
    return pg_run_new((uint32_t)n, data);
}

int pg_grad_mode(int enabled)
{
    int prev = recording;
    recording = enabled != 0;
    return prev;
}
