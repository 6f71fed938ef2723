/* api_fuzzer.c: libFuzzer harness for the C API in pygrad.h.
 *
 * Each input is a program: a sequence of pg_* calls with arguments taken from
 * the input, invalid ones included (indices past the arena, freed or reused
 * slots, unknown op codes, NaN, failing allocations, a full arena). The
 * harness keeps its own model of what it holds (holds on nodes, optimizers)
 * and after every call checks the arena's invariants against it: the free
 * list, the creation log and its marks, every node's operands, its count of
 * links and holds, labels, kept orders and their list, the figures. At the
 * end it gives back everything it holds and checks that no node is left.
 *
 * Build and run: bash fuzz/run SECONDS (clang, -fsanitize=fuzzer,address,
 * undefined). Any failed check or sanitizer report aborts with the input.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__,     \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* ---- Reading the program. */

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t u8(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint32_t u32(input *in)
{
    uint32_t x = 0;
    for (int k = 0; k < 4; k++)
        x = x << 8 | u8(in);
    return x;
}

static double f64(input *in)
{
    static const double nice[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.5,
                                  1e-300, 1e300, INFINITY, -INFINITY, NAN};
    uint8_t kind = u8(in);
    if (kind < 200)
        return nice[kind % (sizeof nice / sizeof nice[0])];
    uint64_t bits = (uint64_t)u32(in) << 32 | u32(in);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x; /* any bit pattern: NaNs, subnormals, infinities */
}

/* ---- What the harness holds. */

#define MAX_HELD 512
#define MAX_OPTS 4
#define MAX_PARAMS 16

static uint32_t held[MAX_HELD]; /* one entry per hold; an index may repeat */
static uint32_t held_scope[MAX_HELD]; /* the scope held[k] was made in, or ANY */
static int nheld;
static uint32_t scope_model; /* the scope last set with pg_scope_set */
#define ANY UINT32_MAX
static pg_optim *opts[MAX_OPTS];
static uint32_t opt_params[MAX_OPTS][MAX_PARAMS];
static int opt_n[MAX_OPTS];

/* Keeps a hold on r (when r is a node) made in scope, or ANY when r was not
 * made by this call (a retained node, a gradient that is an existing node). */
static void hold_in(int64_t r, uint32_t scope)
{
    if (r < 0)
        return;
    if (nheld == MAX_HELD) { /* no room to remember it: give it back */
        CHECK(pg_release((uint32_t)r) == PG_OK);
        return;
    }
    held_scope[nheld] = scope;
    held[nheld++] = (uint32_t)r;
}

/* Keeps a hold on r, a node made just now in the current scope. */
static void hold(int64_t r)
{
    hold_in(r, scope_model);
}

/* The holds the model says node i has. */
static uint32_t holds_of(uint32_t i)
{
    uint32_t h = 0;
    for (int k = 0; k < nheld; k++)
        h += held[k] == i;
    for (int o = 0; o < MAX_OPTS; o++)
        for (int k = 0; opts[o] && k < opt_n[o]; k++)
            h += opt_params[o][k] == i;
    return h;
}

/* An index to pass: mostly one held, or near one, sometimes anything. */
static uint32_t pick(input *in)
{
    uint8_t how = u8(in) % 8;
    if (how < 4 && nheld)
        return held[u8(in) % nheld];
    if (how < 6 && nheld) { /* an operand of something held, or its hidden leaf */
        uint32_t i = held[u8(in) % nheld];
        if (pg_live(i))
            return pg_A.nodes[i].parent[u8(in) & 1];
        return i;
    }
    if (how == 6)
        return pg_A.used ? u8(in) % (pg_A.used + 2) : 0;
    return u32(in);
}

/* ---- The invariants. */

/* Whether a PG_DOT node's operands are the runs its PG_RUNS flag claims. */
static int runs_hold(const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    uint32_t pairs = count / 2, w = v[0], x = v[1];
    if (pairs < 2 || (w != x && (w < x ? x - w : w - x) < pairs))
        return 0;
    if (w > UINT32_MAX - pairs || x > UINT32_MAX - pairs)
        return 0;
    return (count & 1) ? v[2] != PG_NIL : v[2] == PG_NIL;
}

/* Whether a PG_DOT node's block is the evenly spaced runs its PG_STRIDED
 * flag claims: three pairs at least (fewer are kept as a list), its bias
 * there exactly when its count is odd, no PG_RUNS beside it. */
static int strides_hold(const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    if (count / 2 < 3 || (n->flags & PG_RUNS))
        return 0;
    return (count & 1) ? v[2] != PG_NIL : v[2] == PG_NIL;
}

/* Whether a PG_PASS_GRAD pass from out (seeded with seed) to ins gives the
 * numbers of a create pass's results made (PG_NIL for an input not reached),
 * where its own are finite: the two read one table of rules, in one order (a
 * sum's first term added to 0 may turn -0 into 0). Not where they are not: a
 * derivative the rules know to be zero (ZERO) gives a create pass no term,
 * where the float pass adds 0.0, which times an infinity further on is NaN.
 * Gives back what it makes. */
static void check_against_floats(uint32_t out, double seed, const uint32_t *ins, size_t nin,
                                 const uint32_t *made)
{
    pg_pass *q = NULL;
    uint32_t floats[16];
    if (nin > 16 || pg_pass_new(&out, &seed, 1, ins, nin, PG_PASS_GRAD, &q) != PG_OK)
        return;
    int64_t r;
    while ((r = pg_pass_run(q)) >= 0 && r != PG_NIL)
        ; /* a stop at a hook passes the gradient on as it is, as the create pass did */
    if (r == PG_NIL && pg_pass_results(q, floats) == PG_OK) {
        for (size_t j = 0; j < nin; j++) {
            CHECK((floats[j] == PG_NIL) == (made[j] == PG_NIL));
            if (floats[j] == PG_NIL)
                continue;
            double f = pg_A.val[floats[j]].data, c = pg_A.val[made[j]].data;
            CHECK(!isfinite(f) || f == c);
            CHECK(pg_release(floats[j]) == PG_OK);
        }
    }
    pg_pass_free(q);
}

/* A create pass from out to ins run to its end (hooks passing their
 * gradients on as they are), its results checked against the float pass's
 * and held; 1 with them in res, else 0 with nothing made. */
static int create_checked(uint32_t out, double seed, const uint32_t *ins, size_t nin,
                          uint32_t *res)
{
    pg_pass *p = NULL;
    int r = pg_pass_new(&out, &seed, 1, ins, nin, PG_PASS_CREATE, &p);
    CHECK(r == PG_OK || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL);
    if (r != PG_OK)
        return 0;
    int64_t s;
    while ((s = pg_pass_run(p)) >= 0 && s != PG_NIL)
        ;
    int made = s == PG_NIL && pg_pass_results(p, res) == PG_OK;
    pg_pass_free(p);
    if (!made)
        return 0;
    check_against_floats(out, seed, ins, nin, res);
    for (size_t j = 0; j < nin; j++)
        if (res[j] != PG_NIL)
            hold_in(res[j], ANY);
    return 1;
}

/* Whether n-ary node r has the operands it was made over: idx[k], or a
 * number's new leaf where idx[k] is PG_NIL. */
static void check_operands(uint32_t r, const uint32_t *idx, size_t n)
{
    uint32_t count;
    pg_operands(&pg_A.nodes[r], &count);
    CHECK(count == n);
    for (size_t k = 0; k < n; k++) {
        int64_t p = pg_parent(r, (int64_t)k);
        CHECK(p >= 0 && pg_live((uint32_t)p) && (idx[k] == PG_NIL || p == idx[k]));
    }
}

static void check_arena(void)
{
    const pg_arena *A = &pg_A;
    CHECK(A->used <= A->cap);
    CHECK(A->log_len <= A->log_cap);
    CHECK(A->ext_used <= A->ext_cap);
    uint32_t *links = calloc(A->used + 1, sizeof *links);
    uint8_t *on_free = calloc(A->used + 1, 1);
    CHECK(links && on_free);

    /* The free list: nfree distinct free slots below used. */
    uint32_t nfree = 0;
    for (uint32_t i = A->free_head; i != PG_NIL; i = A->nodes[i].parent[0]) {
        CHECK(i < A->used && A->nodes[i].op == PG_FREE && !on_free[i]);
        on_free[i] = 1;
        CHECK(++nfree <= A->nfree);
    }
    CHECK(nfree == A->nfree);

    /* Every slot: free and listed, or a well-formed live node. */
    uint64_t live = 0, label_bytes = 0, operand_bytes = 0;
    uint32_t flagged = 0;
    for (uint32_t i = 0; i < A->used; i++) {
        const pg_node *n = &A->nodes[i];
        if (n->op == PG_FREE) {
            CHECK(on_free[i]);
            continue;
        }
        live++;
        CHECK(n->op < PG_NOPS && (n->flags & (PG_SEEN | PG_INPUT)) == 0);
        CHECK(!(n->flags & PG_RUNS) || (n->op == PG_DOT && runs_hold(n)));
        CHECK(!(n->flags & PG_STRIDED) || (n->op == PG_DOT && strides_hold(n)));
        CHECK(n->pos < A->log_len && A->log[n->pos] == i);
        uint32_t count;
        const uint32_t *operands = pg_operands(n, &count);
        /* the links it holds: its operands, and PG_POWK's hidden leaf */
        uint32_t nlinks = pg_is_nary(n->op) ? count : 2;
        const uint32_t *held_links = pg_is_nary(n->op) ? operands : n->parent;
        CHECK(!pg_is_nary(n->op) || (n->operands && count >= 1));
        if (pg_is_nary(n->op))
            operand_bytes += pg_block_bytes(n);
        for (uint32_t k = 0; k < nlinks; k++) {
            uint32_t p = pg_operand(n, held_links, nlinks, k);
            int wanted = k < count || (k == 1 && n->op == PG_POWK);
            CHECK(wanted == (p != PG_NIL));
            if (p == PG_NIL)
                continue;
            CHECK(pg_live(p) && A->nodes[p].pos < n->pos);
            if (n->op == PG_POWK && k == 1)
                CHECK(A->nodes[p].op == PG_LEAF);
            links[p]++;
        }
        if (n->flags & PG_EXT) {
            const pg_ext *x = pg_ext_find(i);
            CHECK(x && x->owner == i);
            flagged++;
            if (x->label)
                label_bytes += strlen(x->label) + 1;
        }
    }
    /* ext_index: each owned record once, at or after its owner's home with
     * no empty entry between, at most half full; owners flagged. */
    uint32_t owned = 0, indexed = 0;
    for (uint32_t e = 0; e < A->ext_used; e++) {
        uint32_t o = A->ext[e].owner;
        if (o == PG_NIL)
            continue;
        owned++;
        CHECK(o < A->used && A->nodes[o].op != PG_FREE && (A->nodes[o].flags & PG_EXT));
    }
    CHECK(owned == flagged && owned == A->ext_owned);
    CHECK(A->index_cap == 0 || (A->index_cap & (A->index_cap - 1)) == 0);
    CHECK((uint64_t)owned * 2 <= A->index_cap || (owned == 0 && A->index_cap == 0));
    for (uint32_t s = 0; s < A->index_cap; s++) {
        uint32_t e = A->ext_index[s];
        if (e == PG_NIL)
            continue;
        indexed++;
        CHECK(e < A->ext_used && A->ext[e].owner != PG_NIL);
        for (uint32_t t = pg_ext_home(A->ext[e].owner, A->index_cap); t != s;
             t = (t + 1) & (A->index_cap - 1))
            CHECK(A->ext_index[t] != PG_NIL);
    }
    CHECK(indexed == owned);
    CHECK(live == (uint64_t)A->used - A->nfree);
    CHECK(label_bytes == A->label_bytes);
    CHECK(operand_bytes == A->operand_bytes);
    uint32_t hooked = 0;
    for (uint32_t i = 0; i < A->used; i++) {
        if (A->nodes[i].op == PG_FREE)
            continue;
        uint32_t h = holds_of(i);
        CHECK(A->nodes[i].holds == h);
        CHECK(A->side[i].refs == links[i] + h && A->side[i].refs > 0);
        CHECK(A->side[i].refs <= (uint64_t)PG_MOST_REFS + 1);
        hooked += (A->nodes[i].flags & PG_HOOK) != 0;
    }
    CHECK(hooked == A->nhooked);

    /* Scope runs: in order, each holding an entry, maximal (none follows from
     * the one before), steps 0 or 1 with a step-1 run holding two entries
     * or more; scope_watch says whether the last run may go on past 0; and
     * every node held since it was made is in the scope it was made in. */
    CHECK(A->nruns <= A->runs_cap && A->scoped_threads == (scope_model != 0));
    for (uint32_t r = 0; r < A->nruns; r++) {
        const pg_scope_run *run = &A->runs[r];
        uint32_t end = r + 1 < A->nruns ? A->runs[r + 1].pos : A->log_len;
        CHECK(run->pos < end && end <= A->log_len && run->step <= 1);
        CHECK(run->step == 0 || end - run->pos >= 2);
        if (r == 0) {
            CHECK(run->scope != 0 || run->step != 0);
        } else {
            const pg_scope_run *prev = &A->runs[r - 1];
            CHECK(prev->scope + (run->pos - prev->pos) * prev->step != run->scope);
            CHECK(prev->step || run->pos - prev->pos != 1 || run->scope != prev->scope + 1);
        }
    }
    const pg_scope_run *lastrun = A->nruns ? &A->runs[A->nruns - 1] : NULL;
    CHECK(A->scope_watch == (lastrun && (lastrun->scope || lastrun->step)));
    for (int k = 0; k < nheld; k++)
        CHECK(held_scope[k] == ANY || pg_scope_of(held[k]) == held_scope[k]);

    /* Marks are all 0 outside a pass. */
    for (uint32_t w = 0; A->log && w <= A->log_cap / 64; w++)
        CHECK(A->marks[w] == 0);

    /* Kept orders: a list, newest first, of records that have one. */
    uint32_t norders = 0, prev = PG_NIL;
    uint64_t order_bytes = 0, newest_bytes = 0;
    for (uint32_t e = A->newest; e != PG_NIL; e = A->ext[e].older) {
        const pg_ext *x = &A->ext[e];
        CHECK(e < A->ext_used && x->order && x->owner != PG_NIL);
        CHECK(pg_ext_find(x->owner) == x && x->newer == prev);
        CHECK(x->norder >= 1 && x->order[0] == x->owner);
        for (uint32_t j = 0; j < x->norder; j++)
            CHECK(pg_live(x->order[j]) && A->nodes[x->order[j]].pos <= A->nodes[x->owner].pos);
        if (!norders)
            newest_bytes = (uint64_t)x->norder * sizeof(uint32_t);
        order_bytes += (uint64_t)x->norder * sizeof(uint32_t);
        prev = e;
        CHECK(++norders <= A->norders);
    }
    CHECK(prev == A->oldest && norders == A->norders && order_bytes == A->order_bytes);
    CHECK(order_bytes <= PG_ORDER_BUDGET || order_bytes == newest_bytes);
    uint32_t with_order = 0, with_listing = 0;
    for (uint32_t e = 0; e < A->ext_used; e++) {
        with_order += A->ext[e].owner != PG_NIL && A->ext[e].order != NULL;
        if (A->ext[e].owner != PG_NIL && A->ext[e].listing) {
            CHECK(pg_pass_kept(A->ext[e].owner));
            with_listing++;
        }
    }
    CHECK(with_order == norders);
    /* A kept listing: at most one, its output's record says so. */
    CHECK(with_listing <= 1);
    for (uint32_t k = 0; k < A->used; k++)
        if (pg_pass_kept(k))
            CHECK(pg_ext_find(k) && pg_ext_find(k)->listing);

    pg_stats s;
    pg_get_stats(&s);
    CHECK(s.live_nodes == live && s.capacity == A->cap && s.cached_orders == norders);
    free(links);
    free(on_free);
}

/* ---- One call. */

static void step(input *in)
{
    uint32_t i = pick(in), j;
    double x = f64(in);
    int64_t r;
    switch (u8(in) % 34) {
    case 29: { /* a scope for what is made next: few, so that runs repeat */
        uint32_t s = u8(in) % 4;
        CHECK(pg_scope_set(s) == scope_model);
        scope_model = s;
        break;
    }
    case 0:
        hold(pg_leaf(x));
        break;
    case 1:
        hold(pg_unary(u8(in), i));
        break;
    case 2:
        hold(pg_powk(i, x));
        break;
    case 3:
        j = pick(in);
        hold(pg_binary(u8(in), i, j));
        break;
    case 4:
        hold(pg_binary_k(u8(in), i, x, u8(in) & 1));
        break;
    case 5:
        r = pg_retain(i);
        CHECK(r == PG_OK || r == PG_EINDEX || r == PG_EFULL);
        if (r == PG_OK)
            hold_in(i, ANY);
        break;
    case 6: /* give back a hold the harness has */
        if (nheld) {
            int k = u8(in) % nheld;
            CHECK(pg_release(held[k]) == PG_OK);
            held[k] = held[--nheld];
            held_scope[k] = held_scope[nheld];
        }
        break;
    case 7: /* a release the harness has no hold for: refused */
        if (!pg_live(i) || holds_of(i) == 0) {
            int was_live = pg_live(i);
            r = pg_release(i);
            CHECK(r == (was_live ? PG_EARG : PG_EINDEX) && pg_live(i) == was_live);
        }
        break;
    case 8:
        r = pg_set_data(i, x);
        CHECK(r == (pg_live(i) ? PG_OK : PG_EINDEX));
        if (r == PG_OK)
            CHECK(memcmp(&pg_A.val[i].data, &x, sizeof x) == 0);
        break;
    case 9:
        CHECK(pg_set_grad(i, x) == (pg_live(i) ? PG_OK : PG_EINDEX));
        break;
    case 10: {
        double d = pg_data(i), g = pg_grad(i);
        CHECK(pg_live(i) || (isnan(d) && isnan(g)));
        int op = pg_op(i);
        CHECK(pg_live(i) ? op == pg_A.nodes[i].op : op == PG_EINDEX);
        (void)pg_const(i);
        int64_t k = (int8_t)u8(in);
        r = pg_parent(i, k);
        if (!pg_live(i)) {
            CHECK(r == PG_EINDEX);
        } else {
            uint32_t count;
            const uint32_t *operands = pg_operands(&pg_A.nodes[i], &count);
            CHECK((k < 0 || k >= count) ? r == PG_EARG
                                        : r == pg_operand(&pg_A.nodes[i], operands, count, (uint32_t)k));
        }
        const char *l = pg_label(i);
        CHECK(!l || pg_live(i));
        break;
    }
    case 11: { /* a label of any bytes, or none */
        char label[24];
        size_t len = u8(in) % sizeof label;
        for (size_t k = 0; k < len; k++)
            label[k] = (char)u8(in);
        label[len] = '\0';
        int clear = u8(in) & 1;
        r = pg_set_label(i, clear ? NULL : label);
        CHECK(r == PG_OK || r == PG_ENOMEM || (r == PG_EINDEX && !pg_live(i)));
        if (r == PG_OK)
            CHECK(clear || !label[0] ? pg_label(i) == NULL
                                     : pg_label(i) && strcmp(pg_label(i), label) == 0);
        break;
    }
    case 12: {
        uint32_t idx[8];
        double data[8];
        size_t n = u8(in) % 8;
        for (size_t k = 0; k < n; k++) {
            idx[k] = pick(in);
            data[k] = f64(in);
        }
        r = pg_set_data_many(idx, data, n);
        CHECK(r == PG_OK || r == PG_EARG || r == PG_EINDEX);
        break;
    }
    case 13: {
        const uint32_t *order;
        r = pg_order(i, &order);
        CHECK(r > 0 || r == PG_EINDEX || r == PG_ENOMEM);
        if (r > 0)
            CHECK(order[0] == i);
        break;
    }
    case 14: {
        uint32_t out[16];
        int more = -1;
        uint32_t max = u8(in) % 17;
        r = pg_nearest(i, out, max, &more);
        CHECK(r == PG_EINDEX || (max == 0 && r == PG_EARG)
              || (r >= 1 && r <= max && (more == 0 || more == 1) && out[0] == i));
        break;
    }
    case 15:
        r = pg_backward(i, x);
        CHECK(r == (pg_live(i) ? PG_OK : PG_EINDEX));
        break;
    case 16: {
        r = pg_forward(i);
        CHECK(r == PG_OK || r == PG_ENOMEM || (r == PG_EINDEX && !pg_live(i)));
        /* Every node replayed holds what its own rule gives, one node at a
         * time, from its operands' new values: the rows of a layer replayed
         * together included. */
        const uint32_t *order;
        int64_t n = r == PG_OK ? pg_order(i, &order) : 0;
        for (int64_t j = 0; j < n; j++) {
            const pg_node *x = &pg_A.nodes[order[j]];
            if (x->op == PG_LEAF)
                continue;
            double again = forward_rule(pg_A.val, x);
            CHECK(memcmp(&again, &pg_A.val[order[j]].data, sizeof again) == 0);
        }
        break;
    }
    case 17: { /* a new optimizer over held nodes, or over anything */
        int o = u8(in) % MAX_OPTS;
        if (opts[o])
            break;
        uint32_t params[MAX_PARAMS];
        int n = u8(in) % MAX_PARAMS;
        for (int k = 0; k < n; k++)
            params[k] = pick(in);
        r = pg_optim_new(params, (size_t)n, &opts[o]);
        CHECK(r == PG_OK || r == PG_EINDEX || r == PG_EFULL || r == PG_ENOMEM);
        if (r == PG_OK) {
            memcpy(opt_params[o], params, sizeof params);
            opt_n[o] = n;
        } else {
            opts[o] = NULL;
        }
        break;
    }
    case 18: {
        int o = u8(in) % MAX_OPTS;
        if (!opts[o])
            break;
        switch (u8(in) % 4) {
        case 0:
            pg_optim_free(opts[o]);
            opts[o] = NULL;
            break;
        case 1:
            pg_optim_zero_grad(opts[o]);
            break;
        case 2:
            pg_sgd_step(opts[o], x, f64(in), f64(in));
            break;
        default:
            pg_adam_step(opts[o], x, f64(in), f64(in), f64(in), f64(in));
        }
        break;
    }
    case 19:
        pg_grad_mode(u8(in) & 1);
        break;
    case 20:
        pg_test_fail_alloc(u8(in) % 4);
        break;
    case 21:
        pg_test_node_limit(u8(in) & 1 ? 0 : pg_A.used + u8(in) % 8);
        break;
    case 24: { /* an n-ary node over held nodes, numbers and anything */
        uint32_t idx[40];
        double k[40];
        size_t n = u8(in) % 40;
        for (size_t j = 0; j < n; j++) { /* runs often, as a dot over runs */
            uint8_t how = u8(in);
            idx[j] = how % 2 ? PG_NIL : how % 3 == 0 && j >= 2 ? idx[j - 2] + 1 : pick(in);
            k[j] = f64(in);
        }
        uint8_t op = PG_SUM + u8(in) % 4; /* PG_SUM .. PG_NOPS: one invalid */
        r = pg_nary(op, idx, u8(in) % 8 ? k : NULL, n);
        CHECK(r >= 0 || r == PG_EARG || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL
              || r == PG_EINTR);
        if (r >= 0 && pg_op((uint32_t)r) == op)
            check_operands((uint32_t)r, idx, n);
        hold(r);
        break;
    }
    case 25: { /* a dense layer over held nodes, numbers and anything */
        uint32_t w[24], b[6], x[8], out[6], scopes[6];
        double k[8];
        size_t nin = u8(in) % 5, nout = u8(in) % 5;
        double zeros[24] = {0}; /* often new leaves, as nn makes its weights */
        int64_t run = u8(in) % 2 && nin * nout ? pg_leaves(zeros, nin * nout) : -1;
        for (size_t j = 0; run >= 0 && j < nin * nout; j++)
            hold(run + (int64_t)j);
        for (size_t j = 0; j < nin * nout; j++) /* often a run, as nn makes them */
            w[j] = u8(in) % 4 ? (j ? w[j - 1] + 1 : run >= 0 ? (uint32_t)run : pick(in))
                              : pick(in);
        for (size_t j = 0; j < nout; j++) {
            b[j] = pick(in);
            scopes[j] = u8(in) % 4;
        }
        for (size_t j = 0; j < nin; j++) {
            x[j] = u8(in) % 4 == 0 ? PG_NIL : u8(in) % 2 && j ? x[j - 1] + 1 : pick(in);
            k[j] = f64(in);
        }
        uint8_t act = u8(in) % 4 == 0 ? PG_LEAF : (uint8_t)(u8(in) % (PG_NOPS + 1));
        int scoped = u8(in) % 2, b_given = u8(in) % 4 != 0;
        r = pg_dense(w, b_given ? b : NULL, x, u8(in) % 8 ? k : NULL, nin, nout, act,
                     scoped ? scopes : NULL, out);
        CHECK(r == PG_OK || r == PG_EARG || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL
              || r == PG_EINTR);
        for (size_t j = 0; r == PG_OK && j < nout; j++) {
            uint32_t d = out[j], v[2 * 4 + 1];
            if (act != PG_LEAF && pg_op(d) == act)
                d = (uint32_t)pg_parent(d, 0);
            for (size_t i = 0; i < nin; i++) {
                v[2 * i] = w[j * nin + i];
                v[2 * i + 1] = x[i];
            }
            v[2 * nin] = b[j];
            if (pg_op(d) == PG_DOT)
                check_operands(d, v, 2 * nin + (size_t)b_given);
            hold_in(out[j], scoped ? scopes[j] : scope_model);
        }
        break;
    }
    case 26: { /* consecutive leaves */
        double data[8];
        size_t n = u8(in) % 9;
        for (size_t j = 0; j < n; j++)
            data[j] = f64(in);
        r = pg_leaves(data, n);
        CHECK(r >= 0 || r == PG_EARG || r == PG_ENOMEM || r == PG_EFULL || r == PG_EINTR);
        for (size_t j = 0; r >= 0 && j < n; j++) {
            CHECK(memcmp(&pg_A.val[r + j].data, &data[j], sizeof data[j]) == 0);
            hold(r + (int64_t)j);
        }
        break;
    }
    case 27: /* a hook flag on or off, on anything */
        r = pg_hook(i, u8(in) & 1);
        CHECK(r == 0 || r == 1 || (r == PG_EINDEX && !pg_live(i)));
        break;
    case 28: { /* a pass object: run to the end or part way, stops answered */
        uint32_t outs[4], ins[4], res[4];
        double seeds[4];
        size_t nout = u8(in) % 5, nin = u8(in) % 5;
        for (size_t j = 0; j < nout; j++) {
            outs[j] = pick(in);
            seeds[j] = f64(in);
        }
        for (size_t j = 0; j < nin; j++)
            ins[j] = pick(in);
        int mode = u8(in) % 4; /* one invalid */
        /* grads of the nodes live now, which PG_PASS_GRAD and CREATE keep */
        uint32_t before = pg_A.used;
        double *grads = malloc((before + 1) * sizeof(double));
        uint8_t *was_live = malloc(before + 1);
        CHECK(grads && was_live);
        for (uint32_t k = 0; k < before; k++) {
            was_live[k] = pg_live(k);
            grads[k] = pg_A.val[k].grad;
        }
        pg_pass *p = NULL;
        r = pg_pass_new(outs, seeds, nout, ins, nin, mode, &p);
        CHECK(r == PG_OK || r == PG_EARG || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL);
        if (r == PG_OK) {
            int steps = u8(in) % 8;
            while (steps--) {
                r = pg_pass_run(p);
                if (r == PG_NIL || r < 0)
                    break;
                CHECK(pg_live((uint32_t)r) && pg_A.nodes[r].flags & PG_HOOK);
                if (u8(in) & 1)
                    CHECK(pg_pass_set_grad(p, f64(in)) == PG_OK || mode == PG_PASS_CREATE);
            }
            if (r == PG_NIL) {
                int s = pg_pass_results(p, res);
                CHECK(s == PG_OK || s == PG_ENOMEM || s == PG_EFULL
                      || (s == PG_EARG && mode == PG_PASS_BACKWARD));
                for (size_t j = 0; s == PG_OK && j < nin; j++)
                    if (res[j] != PG_NIL)
                        hold_in(res[j], ANY);
            }
            pg_pass_free(p);
            for (uint32_t k = 0; mode != PG_PASS_BACKWARD && k < before; k++)
                CHECK(!was_live[k] || memcmp(&grads[k], &pg_A.val[k].grad, sizeof(double)) == 0);
        }
        free(grads);
        free(was_live);
        break;
    }
    case 31: { /* a create pass twice from one output to the same inputs: the
                  second reads the first's kept listing, and makes the same */
        uint32_t out = pick(in), ins[4], res[2][4];
        size_t nin = u8(in) % 5;
        double seed = f64(in);
        for (size_t j = 0; j < nin; j++)
            ins[j] = pick(in);
        int made[2] = {0, 0};
        for (int t = 0; t < 2; t++) {
            pg_pass *p = NULL;
            r = pg_pass_new(&out, &seed, 1, ins, nin, PG_PASS_CREATE, &p);
            CHECK(r == PG_OK || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL);
            if (r != PG_OK)
                break;
            while ((r = pg_pass_run(p)) >= 0 && r != PG_NIL)
                ; /* a stop at a hook passes the gradient on as it is */
            made[t] = r == PG_NIL && pg_pass_results(p, res[t]) == PG_OK;
            pg_pass_free(p);
        }
        for (size_t j = 0; made[0] && made[1] && j < nin; j++) {
            CHECK((res[0][j] == PG_NIL) == (res[1][j] == PG_NIL));
            if (res[0][j] != PG_NIL)
                CHECK(memcmp(&pg_A.val[res[0][j]].data, &pg_A.val[res[1][j]].data,
                             sizeof(double)) == 0);
        }
        if (made[0])
            check_against_floats(out, seed, ins, nin, res[0]);
        for (int t = 0; t < 2; t++)
            for (size_t j = 0; made[t] && j < nin; j++)
                if (res[t][j] != PG_NIL)
                    hold_in(res[t][j], ANY);
        break;
    }
    case 32: { /* a batch: node x times each of a run of leaves, through an
                  op, summed. The gradient of x is then a dot over the batch
                  whose terms are evenly spaced (PG_STRIDED), and so may be
                  what its gradient in turn is made of: the create pass and
                  the one over its graph must give the float passes' numbers */
        uint32_t x = pick(in), n = 3 + u8(in) % 8, ins[12], z[10], g[12];
        uint8_t op = u8(in);
        double data[10];
        for (uint32_t j = 0; j < n; j++)
            data[j] = f64(in);
        int64_t first = pg_leaves(data, n);
        if (first < 0)
            break;
        uint32_t made = 0;
        for (uint32_t j = 0; j < n; j++) {
            int64_t y = pg_binary(PG_MUL, x, (uint32_t)first + j);
            if (y < 0)
                continue;
            int64_t u = pg_unary(op, (uint32_t)y);
            if (u >= 0) /* held by u's link */
                CHECK(pg_release((uint32_t)y) == PG_OK);
            z[made++] = (uint32_t)(u >= 0 ? u : y);
        }
        for (uint32_t j = 0; j < n; j++)
            hold_in(first + j, scope_model);
        for (uint32_t j = 0; j < made; j++)
            hold_in(z[j], scope_model);
        int64_t sum = made ? pg_nary(PG_SUM, z, NULL, made) : -1;
        if (sum < 0)
            break;
        hold(sum);
        ins[0] = x;
        for (uint32_t j = 0; j < n; j++)
            ins[1 + j] = (uint32_t)first + j;
        double seed = f64(in);
        if (create_checked((uint32_t)sum, seed, ins, n + 1, g) && g[0] != PG_NIL)
            (void)create_checked(g[0], 1.0, ins, n + 1, g); /* through the dots */
        break;
    }
    case 33: { /* dots over runs of one run of leaves, which may overlap,
                  repeat, be the same run twice, be wanted in part or be
                  reached otherwise, summed: a create pass keeps records for
                  the runs that only such rows reach (its run groups) and
                  terms for the rest, and must give the float pass's numbers,
                  to the bit, in the first pass and the one through it */
        uint32_t n = 4 + u8(in) % 9, ndots = 1 + u8(in) % 4, z[5], made = 0;
        uint32_t idx[25], ins[12], g[12];
        double data[12];
        for (uint32_t j = 0; j < n; j++)
            data[j] = f64(in);
        int64_t first = pg_leaves(data, n);
        if (first < 0)
            break;
        for (uint32_t j = 0; j < n; j++)
            hold_in(first + j, scope_model);
        for (uint32_t d = 0; d < ndots; d++) {
            uint32_t w = u8(in) % (n - 1), x = u8(in) % (n - 1), m = 2 + u8(in) % (n - 1);
            uint32_t most = n - (w > x ? w : x);
            m = m < most ? m : most;
            if (m < 2)
                continue;
            for (uint32_t j = 0; j < m; j++) {
                idx[2 * j] = (uint32_t)first + w + j;
                idx[2 * j + 1] = (uint32_t)first + x + j;
            }
            size_t count = 2 * (size_t)m + (u8(in) & 1);
            if (count & 1) /* a bias: one of the leaves, or anything */
                idx[2 * m] = u8(in) & 1 ? (uint32_t)first + u8(in) % n : pick(in);
            r = pg_nary(PG_DOT, idx, NULL, count);
            if (r >= 0) {
                hold(r);
                z[made++] = (uint32_t)r;
            }
        }
        if (u8(in) & 1) { /* a leaf reached otherwise too */
            r = pg_binary(PG_MUL, (uint32_t)first + u8(in) % n, pick(in));
            if (r >= 0) {
                hold(r);
                z[made++] = (uint32_t)r;
            }
        }
        int64_t sum = made ? pg_nary(PG_SUM, z, NULL, made) : -1;
        if (sum < 0)
            break;
        hold(sum);
        uint32_t start = u8(in) % n, nin = 1 + u8(in) % n;
        for (uint32_t j = 0; j < nin; j++)
            ins[j] = (uint32_t)first + (start + j) % n;
        if (create_checked((uint32_t)sum, f64(in), ins, nin, g) && g[0] != PG_NIL)
            (void)create_checked(g[0], 1.0, ins, nin, g);
        break;
    }
    case 30: { /* one node summed many times: links near PG_MOST_REFS */
        uint32_t i = pick(in);
        size_t most = PG_MOST_REFS < 4000 ? (size_t)PG_MOST_REFS + 100 : 4000;
        size_t n = 1 + (u8(in) | (size_t)u8(in) << 8) % most;
        uint32_t *idx = malloc(n * sizeof *idx);
        CHECK(idx);
        for (size_t j = 0; j < n; j++)
            idx[j] = i;
        r = pg_nary(PG_SUM, idx, NULL, n);
        CHECK(r >= 0 || r == PG_EARG || r == PG_EINDEX || r == PG_ENOMEM || r == PG_EFULL
              || r == PG_EINTR);
        hold(r);
        free(idx);
        break;
    }
    case 22:
        if (u8(in) & 1) {
            pg_defer_interrupt();
            CHECK(pg_leaf(x) == PG_EINTR);
        }
        (void)pg_take_interrupt();
        break;
    default: { /* a chain, to reach trims, compactions and growth */
        uint32_t n = 1 + u8(in) * 8;
        int64_t c = pg_leaf(x);
        for (uint32_t k = 0; c >= 0 && k < n; k++) {
            int64_t next = pg_binary_k(PG_MUL, (uint32_t)c, 0.5, 0);
            CHECK(pg_release((uint32_t)c) == PG_OK);
            c = next;
        }
        if (c >= 0 && (u8(in) & 1))
            hold(c);
        else if (c >= 0)
            CHECK(pg_release((uint32_t)c) == PG_OK);
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    while (in.n) {
        step(&in);
        check_arena();
    }
    /* Give everything back: then no node may be left. */
    pg_test_fail_alloc(0);
    pg_test_node_limit(0);
    pg_grad_mode(1);
    pg_scope_set(0);
    scope_model = 0;
    (void)pg_take_interrupt();
    for (int o = 0; o < MAX_OPTS; o++) {
        pg_optim_free(opts[o]);
        opts[o] = NULL;
    }
    while (nheld)
        CHECK(pg_release(held[--nheld]) == PG_OK);
    check_arena();
    CHECK(pg_A.used == pg_A.nfree);
    return 0;
}
