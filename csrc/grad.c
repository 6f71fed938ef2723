/* grad.c: pass objects (pygrad.h): reverse passes from several outputs that
 * stop at hooked nodes, and that can leave every grad as it was or build the
 * gradients as graphs of their own. Those graphs come from the gradient
 * columns of rules.h, read here over nodes instead of doubles, so that there
 * is one calculus. Nothing here recurses. */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* A contribution to an operand's gradient in PG_PASS_CREATE: node a, or,
 * while b != PG_NIL, the product a * b, not made until the operand's whole
 * gradient is (settle). A gradient summed from many products, a weight's
 * over a batch, is then one PG_DOT node, not a MUL and an ADD per term. */
typedef struct term {
    uint32_t a, b;
} term;

static inline term node_term(uint32_t i)
{
    return (term){i, PG_NIL};
}

/* A run group of PG_PASS_CREATE: the consecutive nodes first .. first +
 * width - 1 when every term of each one's gradient comes from PG_RUNS dots
 * that have them, whole, as one of their two runs (a dense layer's row of
 * weights, one example's inputs to a layer). Such a dot passes member j the
 * term (g, partner + j), partner being the other run's first node, so the
 * group keeps one record (g, partner) a dot, in the order they came, at
 * recs[at ..], in place of width terms: member j's terms are the records
 * with j added to b. The record count so far is got[] of the first
 * member's position. */
typedef struct group {
    uint32_t first, width;
    uint32_t nrec;      /* the records it can get: one per link to first */
    uint32_t pure;      /* find_needed: no other term reaches a member */
    size_t at;          /* offset into recs, once begun */
} group;

/* What a pass found of a run group's records once its first member
 * settled: whether they are evenly spaced, and by how much, so that its
 * other members (the same records, b shifted) are made PG_STRIDED without
 * reading them again. Per pass: the groups may be the kept listing's. */
typedef struct spacing {
    uint32_t step_a, step_b;
    uint8_t known, even;
} spacing;

/* The kinds of a pass's blocks that are kept for the next pass (spare). */
enum { S_LIST, S_HOOKED, S_SAVED, S_SLOT, S_GN, S_AT, S_GOT, S_NEEDED, S_TERMS, S_MADE,
       S_GID, S_GROUPS, S_RECS, NSPARE };

struct pg_pass {
    int mode;           /* a pg_pass_mode */
    int listed;         /* list[] is made (PG_PASS_GRAD lists when it runs) */
    int swept;          /* PG_PASS_GRAD done in collect's one sweep */
    int borrowed;       /* list, slot, needed, at, gid and groups are the kept
                           listing's, read and never written (see kept) */
    int light;          /* PG_PASS_CREATE: no node it may link can reach the
                           most links, however it goes (begin): can_link need
                           not look. Cleared when a stopped pass resumes */
    int begun, done, failed;
    int stopped;        /* stopped at list[cursor], its hook not yet resumed */
    uint32_t n;         /* nodes under the outputs */
    uint32_t cursor;    /* list[0 .. cursor-1] have passed their gradient on */
    uint32_t *list;     /* the nodes, in reverse order of creation; when
                           swept, only the inputs found, in the order found */
    uint8_t *hooked;    /* hooked[k]: list[k] carried a hook when the pass began */
    double *saved;      /* PG_PASS_GRAD: every listed node's grad before the
                           pass, at its position in list, or, when swept, at
                           its index (room for nslots); PG_PASS_BACKWARD: each
                           hooked leaf's, at its position */
    uint32_t *slot;     /* slot[i]: node i's position in list, for listed i
                           (nslots entries: the slots in use when made) */
    uint32_t nslots;
    uint32_t *gn;       /* PG_PASS_CREATE: gn[k], the node holding list[k]'s
                           gradient once the pass has reached k (settle), or
                           PG_NIL for zero */
    size_t *at;         /* PG_PASS_CREATE: list[k]'s terms, in the order they
                           came, are terms[at[k] .. at[k] + got[k]), room made
                           by begin for one per link to list[k] that the pass
                           may follow (until begin: the number of those) */
    uint32_t *got;
    term *terms;
    uint8_t *needed;    /* PG_PASS_CREATE: whether list[k] is an input or has
                           one under it; no gradient is built for the rest */
    uint32_t *gid;      /* PG_PASS_CREATE: the run group list[k] belongs to,
                           or PG_NIL; its terms are then the group's records */
    group *groups;      /* [0, ngroups) of groups_cap */
    uint32_t ngroups;
    size_t groups_cap;
    term *recs;         /* the groups' records */
    spacing *spacing;   /* [0, ngroups), once begun */
    size_t nrecs;       /* room in recs, once begun */
    uint64_t grouped;   /* the terms the records stand for, once begun */
    uint32_t most_refs; /* PG_PASS_CREATE: the most refs of any listed node, */
    uint64_t links;     /* and the links of all of them (find_needed) */
    size_t total;       /* PG_PASS_CREATE, once begun: room in terms */
    double konst[4];    /* PG_PASS_CREATE: the constants of the leaves in */
    uint32_t kleaf[4];  /* kleaf, shared by every node that names them */
    uint32_t *made;     /* PG_PASS_CREATE: every node made, in order. They carry
                           no hold: until the pass is freed a node nothing
                           links yet (refs 0) stays, named by a term or gn[];
                           pg_pass_free frees those still unlinked */
    size_t nmade, made_cap;
    uint64_t room_end;  /* slots, log entries and room in made are reserved
                           while pg_A.made < room_end (room_for_nodes); 0
                           whenever the caller may have made nodes since */
    size_t bytes[NSPARE]; /* the size of each block that may become a spare */
    uint32_t *outs, *ins;   /* held by the pass */
    double *seeds;
    size_t nout, nin;
};

int pg_hook(uint32_t i, int on)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_node *n = &pg_A.nodes[i];
    int was = (n->flags & PG_HOOK) != 0;
    n->flags = (uint8_t)(on ? n->flags | PG_HOOK : n->flags & ~PG_HOOK);
    pg_A.nhooked += (uint32_t)(on != 0) - (uint32_t)was;
    return was;
}

/* Grows *block (*cap entries of size bytes) to hold at least need. */
static int room(void **block, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return PG_OK;
    size_t want = *cap ? *cap : 64;
    while (want < need)
        want *= 2;
    void *b = pg_realloc(*block, want * size);
    if (!b)
        return PG_ENOMEM;
    *block = b;
    *cap = want;
    return PG_OK;
}

/* ---- Listing the nodes under the outputs. */

/* Marks node i found (PG_SEEN and its log entry's bit), leaves included;
 * 1 when newly found. */
PG_HOT int found(pg_node *nodes, uint64_t *marks, uint32_t i)
{
    pg_node *x = &nodes[i];
    if (x->flags & PG_SEEN)
        return 0;
    x->flags |= PG_SEEN;
    marks[x->pos >> 6] |= (uint64_t)1 << (x->pos & 63);
    return 1;
}

/* The highest marked log entry at or below q; one must exist. Words found
 * empty on the way are left cleared. */
static uint32_t next_marked(uint64_t *marks, uint32_t q)
{
    for (;;) {
        uint64_t below = marks[q >> 6] << (63 - (q & 63));
        if (below >> 63)
            return q;
        if (below) {
            q -= (uint32_t)__builtin_clzll(below);
        } else {
            marks[q >> 6] = 0;
            q = (q & ~63u) - 1;
        }
    }
}

/* Lists into p->list every node under the outputs (each found once), in
 * descending log order: graph.c's sweep, from several roots, keeping leaves;
 * notes each one's hook in p->hooked and, with p->slot, its position there.
 * With backprop (PG_PASS_GRAD with no hook anywhere, so that the pass cannot
 * stop) it does the pass as well, as the sweep does for pg_backward: a node's
 * grad is set aside in p->saved, at its index, and zeroed when the node is
 * found, and passed on and then put back when it is reached, except an
 * input's (PG_INPUT), which pg_pass_free puts back once the results are read;
 * the list then holds the inputs found, all that pg_pass_free and
 * pg_pass_results need of it. Leaves every flag and mark as it found them.
 * Returns the number listed. */
PG_HOT uint32_t collect(pg_pass *p, const int backprop)
{
    pg_node *nodes = pg_A.nodes;
    pg_value *val = pg_A.val;
    uint64_t *marks = pg_A.marks;
    uint32_t *list = p->list, *slot = p->slot;
    uint8_t *hooked = p->hooked;
    double *saved = p->saved;
    uint32_t waiting = 0, top = 0, n = 0;
#define FIND(o)                                                   \
    if (found(nodes, marks, (o))) {                               \
        waiting++;                                                \
        if (backprop) {                                           \
            saved[(o)] = val[(o)].grad;                           \
            val[(o)].grad = 0.0;                                  \
            if (nodes[(o)].flags & PG_INPUT) {                    \
                list[n] = (o);                                    \
                slot[(o)] = n++;                                  \
            }                                                     \
        }                                                         \
    }
    for (size_t k = 0; k < p->nout; k++) {
        uint32_t r = p->outs[k];
        FIND(r);
        if (nodes[r].pos > top)
            top = nodes[r].pos;
    }
    for (size_t k = 0; backprop && k < p->nout; k++)
        val[p->outs[k]].grad += p->seeds[k];
    for (uint32_t q = top; waiting; q--) {
        q = next_marked(marks, q);
        waiting--;
        uint32_t i = pg_A.log[q];
        pg_node *x = &nodes[i];
        x->flags &= ~PG_SEEN;
        if (!backprop) {
            hooked[n] = (x->flags & PG_HOOK) != 0;
            if (slot)
                slot[i] = n;
            list[n++] = i;
        }
        PG_EACH_OPERAND_AHEAD(x, o, {
            __builtin_prefetch(&nodes[o], 1);
            if (backprop) {
                __builtin_prefetch(&val[o], 1);
                __builtin_prefetch(&saved[o], 1);
            }
        }, FIND(o));
        if (backprop && x->op != PG_LEAF)
            backward_rule(val, x, i);
        if (backprop && !(x->flags & PG_INPUT)) /* nothing adds to it from here */
            val[i].grad = saved[i];
        if ((q & 63) == 0 || !waiting)
            marks[q >> 6] = 0;
    }
#undef FIND
    return n;
}

/* Whether input i is one the pass lists, and where. */
static int listed(const pg_pass *p, uint32_t i, uint32_t *k)
{
    if (i >= p->nslots)
        return 0;
    uint32_t s = p->slot[i];
    if (s >= p->n || p->list[s] != i)
        return 0;
    *k = s;
    return 1;
}

/* find_needed's count of one link to list[s]: with needed[s], a term it
 * may get, which leaves its run group, if any, impure. */
#define LINK(s)                                         \
    do {                                                \
        needed |= p->needed[s];                         \
        p->at[s] += p->needed[s];                       \
        if (p->gid[s] != PG_NIL)                        \
            p->groups[p->gid[s]].pure = 0;              \
    } while (0)

/* find_needed's count of the links from a PG_RUNS dot to its run of width
 * nodes from first: records of their run group, made here if they have
 * none and each can join (is needed, linked before by nothing, in no other
 * group), or else plain links (also when there is no memory for a group:
 * terms serve any run, groups only save their room). Returns whether any
 * of them is needed. */
static uint8_t link_run(pg_pass *p, uint32_t first, uint32_t width)
{
    const uint32_t *slot = p->slot;
    uint32_t k0 = slot[first], G = p->gid[k0], j = 0;
    if (G == PG_NIL) {
        while (j < width && p->needed[slot[first + j]] && !p->at[slot[first + j]]
               && p->gid[slot[first + j]] == PG_NIL)
            j++;
        if (j == width && room((void **)&p->groups, &p->groups_cap, (size_t)p->ngroups + 1,
                               sizeof *p->groups) == PG_OK) {
            G = p->ngroups++;
            p->groups[G] = (group){.first = first, .width = width, .pure = 1};
            for (j = 0; j < width; j++)
                p->gid[slot[first + j]] = G;
        }
    }
    uint8_t needed = 0;
    if (G != PG_NIL && p->groups[G].first == first && p->groups[G].width == width) {
        p->groups[G].nrec++;
        for (j = 0; j < width; j++)
            p->at[slot[first + j]]++;
        return 1;
    }
    for (j = 0; j < width; j++)
        LINK(slot[first + j]);
    return needed;
}

/* Fills needed: inputs, then, operands before their nodes (the list read
 * backwards), every node with a needed operand. Counts into at[k] the links
 * to list[k] from needed nodes, and its times as an output: the most terms
 * it can be given. Finds the run groups: those left pure keep their
 * members, the others are dissolved. */
static void find_needed(pg_pass *p)
{
    memset(p->needed, 0, p->n);
    memset(p->at, 0, p->n * sizeof *p->at);
    memset(p->gid, 0xFF, p->n * sizeof *p->gid); /* PG_NIL */
    p->ngroups = 0;
    for (size_t j = 0; j < p->nin; j++) {
        uint32_t k;
        if (listed(p, p->ins[j], &k))
            p->needed[k] = 1;
    }
    for (size_t j = 0; j < p->nout; j++)
        p->at[p->slot[p->outs[j]]]++;
    /* A node with a needed operand is needed itself, so counting the links
     * to needed operands counts those from needed nodes. */
    uint32_t most_refs = 0;
    uint64_t links = 0;
    for (uint32_t k = p->n; k-- > 0;) {
        const pg_node *n = &pg_A.nodes[p->list[k]];
        uint8_t needed = p->needed[k]; /* an input, or not yet known */
        if (n->flags & PG_RUNS) { /* operands[1], [2]: the runs' firsts, [3]: the bias */
            uint32_t count = n->operands[0];
            needed |= link_run(p, n->operands[1], count / 2);
            needed |= link_run(p, n->operands[2], count / 2);
            if (count & 1)
                LINK(p->slot[n->operands[3]]);
            links += count;
        } else {
            PG_EACH_OPERAND(n, o, {
                LINK(p->slot[o]);
                links++;
            });
        }
        p->needed[k] = needed;
        uint32_t refs = pg_A.side[p->list[k]].refs;
        most_refs = refs > most_refs ? refs : most_refs;
    }
    p->most_refs = most_refs;
    p->links = links;
    for (uint32_t G = 0; G < p->ngroups; G++)
        for (uint32_t j = 0; !p->groups[G].pure && j < p->groups[G].width; j++)
            p->gid[p->slot[p->groups[G].first + j]] = PG_NIL;
}
#undef LINK

/* ---- Making and ending a pass. */

/* Blocks kept from the last pass ended, one of each kind, for the next
 * pass: one as large as the last then faults in no new page, where fresh
 * blocks of a few megabytes cost it a fifth of its time. Owned here until
 * taken; freed when the arena shrinks (pg_pass_spares_free). The callers
 * serialise, as for the arena. */
static struct {
    void *block;
    size_t bytes;
} spare[NSPARE];

/* A block of at least `bytes` for kind k of pass p: the spare, when it is
 * large enough; NULL when allocation fails. */
static void *take(pg_pass *p, int k, size_t bytes)
{
    void *b = spare[k].block;
    spare[k].block = NULL;
    if (b && spare[k].bytes >= bytes) {
        p->bytes[k] = spare[k].bytes;
        return b;
    }
    free(b); /* too small: the larger one will be kept instead */
    p->bytes[k] = bytes ? bytes : 1;
    return pg_realloc(NULL, p->bytes[k]);
}

/* Keeps block b, of kind k and of pass p, as the spare, or frees it. */
static void give(const pg_pass *p, int k, void *b)
{
    if (b && !spare[k].block) {
        spare[k].block = b;
        spare[k].bytes = p->bytes[k];
    } else {
        free(b);
    }
}

static void *copy(const void *from, size_t bytes)
{
    void *to = pg_realloc(NULL, bytes ? bytes : 1);
    if (to && bytes)
        memcpy(to, from, bytes);
    return to;
}

/* The listing of the last PG_PASS_CREATE pass from one output that ran to
 * its end, kept for the next pass from that output to the same inputs:
 * Newton's method and conjugate gradients differentiate one graph again and
 * again, and the graph under a node never changes, nor so what a pass lists
 * under it, which nodes it needs and how many terms each can get. It holds
 * no reference: the output's ext record says that it is kept, and freeing
 * the output forgets it. A pass that borrows it holds the output, so it is
 * not forgotten while users > 0 (except by pg_pass_spares_free, which waits
 * until none). Owned here; the blocks were the pass's list, slot, needed,
 * at (offsets into terms, as begin left them), gid and groups (with their
 * offsets into recs). */
static struct {
    uint32_t out;         /* PG_NIL: nothing kept */
    uint32_t *ins;
    size_t nin;
    uint32_t n, nslots;
    uint32_t *list, *slot;
    uint8_t *needed;
    size_t *at, total;
    uint32_t *gid;
    group *groups;
    uint32_t ngroups;
    size_t groups_cap, nrecs;
    uint64_t grouped;
    uint64_t links;
    uint64_t bytes;
    int users;            /* passes borrowing it now */
} kept = {.out = PG_NIL};

void pg_pass_kept_forget(void)
{
    if (kept.out == PG_NIL || kept.users)
        return;
    pg_ext *x = pg_ext_find(kept.out);
    if (x)
        x->listing = 0;
    free(kept.ins);
    free(kept.list);
    free(kept.slot);
    free(kept.needed);
    free(kept.at);
    free(kept.gid);
    free(kept.groups);
    kept.out = PG_NIL;
    kept.bytes = 0;
}

/* Whether the kept listing is the one a pass from out to ins[0 .. nin-1]
 * would make. */
static int kept_for(uint32_t out, const uint32_t *ins, size_t nin)
{
    return kept.out == out && kept.nin == nin
        && (nin == 0 || memcmp(kept.ins, ins, nin * sizeof *ins) == 0);
}

/* Keeps p's listing (a PG_PASS_CREATE pass from one output, done) in place
 * of the one kept, taking its blocks; keeps nothing while the kept one is
 * borrowed or when the output's ext record cannot be made. */
static void keep_listing(pg_pass *p)
{
    if (kept.users || kept_for(p->outs[0], p->ins, p->nin))
        return;
    uint32_t *ins = copy(p->ins, p->nin * sizeof *ins);
    pg_ext *x = ins ? pg_ext_of(p->outs[0]) : NULL;
    if (!x) {
        free(ins);
        return;
    }
    pg_pass_kept_forget();
    x->listing = 1;
    kept.out = p->outs[0];
    kept.ins = ins;
    kept.nin = p->nin;
    kept.n = p->n;
    kept.nslots = p->nslots;
    kept.list = p->list;
    kept.slot = p->slot;
    kept.needed = p->needed;
    kept.at = p->at;
    kept.total = p->total;
    kept.gid = p->gid;
    kept.groups = p->groups;
    kept.ngroups = p->ngroups;
    kept.groups_cap = p->groups_cap;
    kept.nrecs = p->nrecs;
    kept.grouped = p->grouped;
    kept.links = p->links;
    kept.bytes = p->bytes[S_LIST] + p->bytes[S_SLOT] + p->bytes[S_NEEDED] + p->bytes[S_AT]
                 + p->bytes[S_GID] + p->groups_cap * sizeof *p->groups
                 + (p->nin ? p->nin : 1) * sizeof *ins;
    p->list = p->slot = p->gid = NULL;
    p->needed = NULL;
    p->at = NULL;
    p->groups = NULL;
}

/* Makes p, a PG_PASS_CREATE pass from the kept listing's output to its
 * inputs, read the kept listing: the hooks and refs, which can change, are
 * read again. */
static void borrow_listing(pg_pass *p)
{
    p->borrowed = 1;
    kept.users++;
    p->list = kept.list;
    p->slot = kept.slot;
    p->needed = kept.needed;
    p->at = kept.at;
    p->gid = kept.gid;
    p->groups = kept.groups;
    p->ngroups = kept.ngroups;
    p->groups_cap = kept.groups_cap;
    p->nslots = kept.nslots;
}

int pg_pass_kept(uint32_t out)
{
    return pg_live(out) && kept.out == out;
}

int64_t pg_pass_records(const pg_pass *p)
{
    return p->mode == PG_PASS_CREATE && p->begun ? (int64_t)p->nrecs : -1;
}

uint64_t pg_pass_spares_bytes(void)
{
    uint64_t bytes = kept.bytes;
    for (int k = 0; k < NSPARE; k++)
        bytes += spare[k].block ? spare[k].bytes : 0;
    return bytes;
}

void pg_pass_spares_free(void)
{
    for (int k = 0; k < NSPARE; k++) {
        free(spare[k].block);
        spare[k].block = NULL;
    }
    pg_pass_kept_forget();
}

void pg_pass_free(pg_pass *p)
{
    if (!p)
        return;
    if (p->borrowed) { /* given back first: releasing the output may forget it */
        kept.users--;
        p->list = p->slot = p->gid = NULL;
        p->needed = NULL;
        p->at = NULL;
        p->groups = NULL;
    } else if (p->done && p->mode == PG_PASS_CREATE && p->nout == 1) {
        keep_listing(p);
    }
    if (p->swept) { /* the sweep put back all but the inputs' */
        for (size_t j = 0; j < p->nin; j++) {
            uint32_t k;
            if (listed(p, p->ins[j], &k))
                pg_A.val[p->ins[j]].grad = p->saved[p->ins[j]];
        }
    } else if (p->begun && p->mode == PG_PASS_GRAD) {
        for (uint32_t k = 0; k < p->n; k++)
            pg_A.val[p->list[k]].grad = p->saved[k];
    } else if (p->begun && p->mode == PG_PASS_BACKWARD) {
        for (uint32_t k = p->cursor; k < p->n; k++) /* hooked leaves not passed yet */
            if (p->hooked[k] && pg_A.nodes[p->list[k]].op == PG_LEAF)
                pg_A.val[p->list[k]].grad += p->saved[k];
    }
    for (size_t k = p->nmade; k-- > 0;) { /* newest first: each frees what only it links */
        uint32_t r = p->made[k];
        /* refs first: 4 bytes a node, where the node's slot is 16, and only
         * the few made nodes nothing links need the rest (a freed slot's
         * refs may be 0, a pending-list link) */
        if (r < pg_A.used && pg_A.side[r].refs == 0 && pg_live(r)) {
            pg_A.side[r].refs = 1;
            pg_unlink(r);
        }
    }
    for (size_t k = 0; k < p->nout; k++)
        pg_release(p->outs[k]);
    for (size_t k = 0; k < p->nin; k++)
        pg_release(p->ins[k]);
    give(p, S_LIST, p->list);
    give(p, S_HOOKED, p->hooked);
    give(p, S_SAVED, p->saved);
    give(p, S_SLOT, p->slot);
    give(p, S_GN, p->gn);
    give(p, S_AT, p->at);
    give(p, S_GOT, p->got);
    give(p, S_TERMS, p->terms);
    give(p, S_NEEDED, p->needed);
    give(p, S_GID, p->gid);
    p->bytes[S_GROUPS] = p->groups_cap * sizeof *p->groups;
    give(p, S_GROUPS, p->groups);
    give(p, S_RECS, p->recs);
    free(p->spacing);
    p->bytes[S_MADE] = p->made_cap * sizeof *p->made; /* grown by room() */
    give(p, S_MADE, p->made);
    free(p->outs);
    free(p->ins);
    free(p->seeds);
    free(p);
}

/* What a borrowed listing leaves to read again: each node's hook and the
 * most refs of any (find_needed's figures that can change). */
static void reread_listing(pg_pass *p)
{
    p->n = kept.n;
    p->listed = 1;
    p->links = kept.links;
    uint32_t most_refs = 0;
    for (uint32_t k = 0; k < p->n; k++) {
        uint32_t refs = pg_A.side[p->list[k]].refs;
        most_refs = refs > most_refs ? refs : most_refs;
    }
    p->most_refs = most_refs;
    if (pg_A.nhooked == 0)
        memset(p->hooked, 0, p->n);
    else
        for (uint32_t k = 0; k < p->n; k++)
            p->hooked[k] = (pg_A.nodes[p->list[k]].flags & PG_HOOK) != 0;
}

int pg_pass_new(const uint32_t *outs, const double *seeds, size_t nout,
                const uint32_t *ins, size_t nin, int mode, pg_pass **out)
{
    if (nout == 0 || nout >= UINT32_MAX || nin >= UINT32_MAX || mode < PG_PASS_BACKWARD
        || mode > PG_PASS_CREATE)
        return PG_EARG;
    uint32_t top = 0;
    for (size_t k = 0; k < nout; k++) {
        if (!pg_live(outs[k]))
            return PG_EINDEX;
        if (pg_A.nodes[outs[k]].pos > top)
            top = pg_A.nodes[outs[k]].pos;
    }
    for (size_t k = 0; k < nin; k++)
        if (!pg_live(ins[k]))
            return PG_EINDEX;
    pg_pass *p = pg_realloc(NULL, sizeof *p);
    if (!p)
        return PG_ENOMEM;
    memset(p, 0, sizeof *p);
    p->mode = mode;
    /* Every node listed is live and logged at or below the top output. */
    size_t live = (size_t)(pg_A.used - pg_A.nfree), cap = (size_t)top + 1;
    if (live < cap)
        cap = live;
    p->nslots = pg_A.used;
    int create = mode == PG_PASS_CREATE;
    if (create && nout == 1 && kept_for(outs[0], ins, nin)) {
        borrow_listing(p);
        cap = kept.n;
    }
    int own = !p->borrowed;
    int ok = (!own || (p->list = take(p, S_LIST, cap * sizeof(uint32_t))))
          && (p->hooked = take(p, S_HOOKED, cap))
          && (p->outs = copy(outs, nout * sizeof *outs))
          && (p->seeds = copy(seeds, nout * sizeof *seeds))
          && (p->ins = copy(ins, nin * sizeof *ins))
          && (create || (p->saved = take(p, S_SAVED, (mode == PG_PASS_GRAD ? p->nslots : cap)
                                                       * sizeof(double))))
          && (mode == PG_PASS_BACKWARD || !own
              || (p->slot = take(p, S_SLOT, (size_t)p->nslots * sizeof(uint32_t))))
          && (!create || (p->gn = take(p, S_GN, cap * sizeof(uint32_t))))
          && (!create || !own || (p->at = take(p, S_AT, cap * sizeof(size_t))))
          && (!create || (p->got = take(p, S_GOT, cap * sizeof(uint32_t))))
          && (!create || !own || (p->needed = take(p, S_NEEDED, cap)))
          && (!create || !own || (p->gid = take(p, S_GID, cap * sizeof(uint32_t))));
    if (ok && create && spare[S_MADE].block) { /* room() grows it from there */
        p->made = take(p, S_MADE, 0);
        p->made_cap = p->bytes[S_MADE] / sizeof *p->made;
    }
    if (ok && create && own && spare[S_GROUPS].block) { /* and this one */
        p->groups = take(p, S_GROUPS, 0);
        p->groups_cap = p->bytes[S_GROUPS] / sizeof *p->groups;
    }
    int s = ok ? pg_hold_all(outs, nout) : PG_ENOMEM;
    if (s == PG_OK) {
        p->nout = nout;
        s = pg_hold_all(ins, nin);
    }
    if (s != PG_OK) {
        pg_pass_free(p);
        return s;
    }
    p->nin = nin;
    /* From here nothing fails. */
    if (p->borrowed) {
        reread_listing(p);
    } else {
        /* An input's slot says PG_NIL unless the input is listed: the one
         * unlisted node the pass looks up. */
        for (size_t k = 0; p->slot && k < nin; k++)
            p->slot[ins[k]] = PG_NIL;
        if (mode != PG_PASS_GRAD) {
            p->n = collect(p, 0);
            p->listed = 1;
        }
        if (p->needed)
            find_needed(p);
    }
    for (int c = 0; c < 4; c++)
        p->kleaf[c] = PG_NIL;
    *out = p;
    return PG_OK;
}

/* ---- Room for building: made before each rule, so that building cannot
 * fail part way. */

/* At most this many slots for the nodes one operand's contribution makes
 * (PG_POW's two columns make 15; a POWK node takes two slots), and at most
 * this many links any node gains from one operand's contribution. */
#define SLOTS_PER_OPERAND 10
#define LINKS_PER_OPERAND 8

/* Can node i take `more` links? */
static inline int can_link(const pg_pass *p, uint32_t i, uint64_t more)
{
    return p->light || (uint64_t)pg_A.side[i].refs + more < PG_MOST_REFS;
}

/* Nodes reserved at a time: one reservation serves many rules. */
#define ROOM_BATCH 4096

/* room_for_nodes when the room reserved is used up: a batch at a time, or
 * just n when a batch will not fit (a node limit). */
static __attribute__((noinline)) int reserve_nodes(pg_pass *p, uint64_t n)
{
    if (n > UINT32_MAX / 2)
        return PG_EFULL;
    for (uint64_t want = n < ROOM_BATCH ? ROOM_BATCH : n;; want = n) {
        int s = room((void **)&p->made, &p->made_cap, p->nmade + want, sizeof *p->made);
        if (s == PG_OK)
            s = pg_reserve((uint32_t)want);
        if (s == PG_OK) {
            p->room_end = pg_A.made + want;
            return PG_OK;
        }
        if (want == n)
            return s;
    }
}

/* Room for n more nodes: slots, and entries in made. */
static inline int room_for_nodes(pg_pass *p, uint64_t n)
{
    return pg_A.made + n <= p->room_end ? PG_OK : reserve_nodes(p, n);
}

/* Makes room for create_rule on the node at position k: slots, room in
 * made, and links on every node it may link (the node, its
 * gradient and its operands). */
static int room_for_rule(pg_pass *p, uint32_t k)
{
    uint32_t i = p->list[k], count;
    const pg_node *n = &pg_A.nodes[i];
    const uint32_t *v = pg_operands(n, &count);
    uint64_t per = count < 2 ? 2 : count; /* unary ops: both columns' worth */
    uint64_t links = LINKS_PER_OPERAND * (per + 1);
    if (!p->light) {
        if (!can_link(p, i, links) || !can_link(p, p->gn[k], links))
            return PG_EFULL;
        for (uint32_t j = 0; j < count; j++)
            if (!can_link(p, pg_operand(n, v, count, j), links))
                return PG_EFULL;
    }
    return room_for_nodes(p, SLOTS_PER_OPERAND * per);
}

/* ---- Building gradients as nodes. The caller has reserved the slots and
 * room in made; links were checked (room_for_rule). */

/* Records node r as made, giving back the hold pg_node_new gave it. */
static uint32_t keep(pg_pass *p, uint32_t r)
{
    p->made[p->nmade++] = r;
    pg_A.nodes[r].holds = 0;
    pg_A.side[r].refs--;
    return r;
}

/* Makes node op(a, b), its value by forward_rule. Inline where op is a
 * constant (the forward rule then folds to its row), out of line (mk) in
 * the columns, which call it too often to copy it into each. */
PG_HOT uint32_t mk_inline(pg_pass *p, uint8_t op, uint32_t a, uint32_t b)
{
    pg_node t = {.op = op, .parent = {a, b}};
    return keep(p, pg_node_new(op, forward_rule(pg_A.val, &t), a, b));
}

static uint32_t mk(pg_pass *p, uint8_t op, uint32_t a, uint32_t b)
{
    return mk_inline(p, op, a, b);
}

static uint32_t mk_leaf(pg_pass *p, double k)
{
    return keep(p, pg_node_new(PG_LEAF, k, PG_NIL, PG_NIL));
}

/* A leaf holding the rules' constant k, to be linked `links` times: one per
 * pass for each of the first few constants met (1 and 2 in tanh's, sigmoid's
 * and sqrt's rules), shared while it can take the links; PG_POWK's exponents
 * beyond those get leaves of their own. (Callers reserve a slot for each
 * either way.) */
static uint32_t mk_const(pg_pass *p, double k, uint64_t links)
{
    int c = 0;
    for (; c < 4 && p->kleaf[c] != PG_NIL; c++)
        if (p->konst[c] == k && signbit(p->konst[c]) == signbit(k))
            return can_link(p, p->kleaf[c], links) ? p->kleaf[c] : mk_leaf(p, k);
    uint32_t r = mk_leaf(p, k);
    if (c < 4) {
        p->konst[c] = k;
        p->kleaf[c] = r;
    }
    return r;
}

static uint32_t mk_powk(pg_pass *p, uint32_t a, double k)
{
    uint32_t c = pg_node_new(PG_LEAF, k, PG_NIL, PG_NIL);
    uint32_t r = mk(p, PG_POWK, a, c);
    pg_release(c); /* now held by r's link alone */
    return r;
}

/* Adds term t (t.a == PG_NIL: none) to operand o's gradient, after those
 * added before: the float passes' `grad += t`. */
static void add_to(pg_pass *p, uint32_t o, term t)
{
    if (t.a == PG_NIL)
        return;
    uint32_t k = p->slot[o];
    p->terms[p->at[k] + p->got[k]++] = t;
}

/* Makes the gradient of the node at position k from its terms, once all have
 * come (the pass has reached k): nothing for none, the node of a lone plain
 * term, a MUL for a lone product, else a PG_DOT over the terms in the order
 * they came, a plain term c as the product c * 1. The PG_DOT adds its
 * products from the first, left to right, as the float passes add the
 * terms, so the two agree to the bit. Makes nothing on failure. */
static int settle_products(pg_pass *p, uint32_t k, const term *t, uint32_t n, uint32_t off);
static int settle_even(pg_pass *p, uint32_t k, uint32_t a0, uint32_t b0, const spacing *sp,
                       uint32_t n);

static inline int settle(pg_pass *p, uint32_t k)
{
    if (p->gn[k] != PG_NIL) /* settled already */
        return PG_OK;
    uint32_t G = p->gid[k];
    if (G != PG_NIL) { /* a run group's member: its records, shifted */
        const group *r = &p->groups[G];
        uint32_t n = p->got[p->slot[r->first]], off = p->list[k] - r->first;
        spacing *sp = &p->spacing[G];
        if (n == 0)
            return PG_OK;
        if (sp->even && p->light)
            return settle_even(p, k, p->recs[r->at].a, p->recs[r->at].b + off, sp, n);
        int s = settle_products(p, k, p->recs + r->at, n, off);
        if (s == PG_OK && !sp->known) {
            const pg_node *d = &pg_A.nodes[p->gn[k]];
            sp->known = 1;
            sp->even = d->op == PG_DOT && (d->flags & PG_STRIDED);
            if (sp->even) {
                sp->step_a = d->operands[4];
                sp->step_b = d->operands[5];
            }
        }
        return s;
    }
    const term *t = p->terms + p->at[k];
    uint32_t n = p->got[k];
    if (n == 0)
        return PG_OK;
    if (n == 1 && t[0].b == PG_NIL) {
        p->gn[k] = t[0].a;
        return PG_OK;
    }
    return settle_products(p, k, t, n, 0);
}

/* Fills a PG_STRIDED dot's operand block past its count: the runs' starts,
 * no bias, the steps. */
static inline void strided_block(uint32_t *operands, uint32_t a0, uint32_t b0, uint32_t step_a,
                                 uint32_t step_b)
{
    operands[1] = a0;
    operands[2] = b0;
    operands[3] = PG_NIL; /* no bias */
    operands[4] = step_a;
    operands[5] = step_b;
}

/* settle for a product or more than one term: t[0 .. n-1], each product's b
 * taken off further on (a run group's member's). A PG_DOT over n >= 3 terms
 * whose a's and b's are each evenly spaced, as a derivative graph's dot over
 * a batch is (one node of each example), is made PG_STRIDED. */
static int settle_products(pg_pass *p, uint32_t k, const term *t, uint32_t n, uint32_t off)
{
    uint32_t plain = 0;
    int s = room_for_nodes(p, 2); /* the node, and a leaf holding 1 */
    if (s != PG_OK)
        return s;
    if (n == 1) {
        if (!can_link(p, t[0].a, 2) || !can_link(p, t[0].b + off, 2))
            return PG_EFULL;
        p->gn[k] = mk_inline(p, PG_MUL, t[0].a, t[0].b + off);
        return PG_OK;
    }
    for (uint32_t j = 0; j < n; j++)
        plain += t[j].b == PG_NIL;
    uint32_t one = plain ? mk_const(p, 1.0, plain) : PG_NIL;
#define B(j) (t[j].b != PG_NIL ? t[j].b + off : one)
    const uint32_t a0 = t[0].a, b0 = B(0), step_a = t[1].a - a0, step_b = B(1) - b0;
    uint32_t next_a = a0, next_b = b0, even = n >= 3;
    pg_side *side = pg_A.side;
    for (uint32_t j = 0; j < n; j++) { /* linked as written, so one read each */
        uint32_t a = t[j].a, b = B(j);
        if (!p->light && (!can_link(p, a, 1) || !can_link(p, b, 2))) {
            n = j;
            s = PG_EFULL;
            break;
        }
        side[a].refs++;
        side[b].refs++;
        even &= (a == next_a) & (b == next_b);
        next_a += step_a;
        next_b += step_b;
    }
    uint8_t flags = even ? PG_STRIDED : 0;
    uint32_t *operands = s == PG_OK ? pg_realloc(NULL, pg_block_size(2 * (size_t)n, flags)) : NULL;
    if (!operands) {
        for (uint32_t j = 0; j < n; j++) { /* the links taken, given back */
            side[t[j].a].refs--;
            side[B(j)].refs--;
        }
        return s == PG_OK ? PG_ENOMEM : s;
    }
    operands[0] = 2 * n;
    if (even) {
        strided_block(operands, a0, b0, step_a, step_b);
    } else {
        for (uint32_t j = 0; j < n; j++) {
            operands[2 * j + 1] = t[j].a;
            operands[2 * j + 2] = B(j);
        }
    }
#undef B
    p->gn[k] = keep(p, pg_nary_node(PG_DOT, operands, flags));
    return PG_OK;
}

/* settle_products for a run group's member once another member's records
 * came out evenly spaced as sp says (light passes only, which check no
 * link): the same PG_STRIDED dot, from a0 and b0, linked by counting. */
static int settle_even(pg_pass *p, uint32_t k, uint32_t a0, uint32_t b0, const spacing *sp,
                       uint32_t n)
{
    int s = room_for_nodes(p, 2);
    if (s != PG_OK)
        return s;
    uint32_t *operands = pg_realloc(NULL, pg_block_size(2 * (size_t)n, PG_STRIDED));
    if (!operands)
        return PG_ENOMEM;
    pg_side *side = pg_A.side;
    for (uint32_t j = 0, a = a0, b = b0; j < n; j++, a += sp->step_a, b += sp->step_b) {
        side[a].refs++;
        side[b].refs++;
    }
    operands[0] = 2 * n;
    strided_block(operands, a0, b0, sp->step_a, sp->step_b);
    p->gn[k] = keep(p, pg_nary_node(PG_DOT, operands, PG_STRIDED));
    return PG_OK;
}

/* Adds the term `contribution` to operand o's gradient where it is wanted
 * (o leads to an input), making it only then. */
#define ADD_TO(o, contribution)                 \
    do {                                        \
        if (p->needed[p->slot[o]])              \
            add_to(p, o, contribution);         \
    } while (0)

/* ADD_TO with add_to written out, for the n-ary loops, which run it once an
 * operand: a dense layer's row has hundreds. */
#define ADD_HERE(o, contribution)                                   \
    do {                                                            \
        uint32_t k_ = p->slot[o];                                   \
        if (p->needed[k_]) {                                        \
            term t_ = (contribution);                               \
            if (t_.a != PG_NIL)                                     \
                p->terms[p->at[k_] + p->got[k_]++] = t_;            \
        }                                                           \
    } while (0)

/* Passes node out's gradient node g on to its operands (end of file). */
static void create_rule(pg_pass *p, uint32_t out, uint32_t g);

/* ---- Running. */

/* Resets and seeds: PG_PASS_BACKWARD as pg_backward (non-leaf nodes to 0,
 * hooked leaves' grads set aside), PG_PASS_GRAD from 0 everywhere with the
 * grads set aside, PG_PASS_CREATE with a leaf per seed. */
static int begin(pg_pass *p)
{
    pg_value *val = pg_A.val;
    if (p->mode == PG_PASS_CREATE) { /* room for the terms; a leaf per seed */
        pg_tidy();
        size_t total = 0;
        if (p->borrowed) { /* at and the groups hold the offsets already */
            total = kept.total;
            p->nrecs = kept.nrecs;
            p->grouped = kept.grouped;
            memset(p->gn, 0xFF, p->n * sizeof *p->gn); /* PG_NIL */
            memset(p->got, 0, p->n * sizeof *p->got);
        } else {
            for (uint32_t k = 0; k < p->n; k++) {
                if (p->at[k] >= UINT32_MAX / 2) /* settle's operands must count */
                    return PG_EFULL;
                size_t most = p->at[k];
                p->at[k] = total;
                if (p->gid[k] == PG_NIL)
                    total += most;
                else
                    p->grouped += most;
                p->gn[k] = PG_NIL;
                p->got[k] = 0;
            }
            for (uint32_t G = 0; G < p->ngroups; G++) {
                p->groups[G].at = p->nrecs;
                p->nrecs += p->groups[G].pure ? p->groups[G].nrec : 0;
            }
        }
        p->total = total;
        if (total > SIZE_MAX / sizeof(term))
            return PG_ENOMEM;
        /* The pass makes at most this many nodes (room_for_rule's bound for
         * each rule, a node and a leaf for each settle, a leaf for each
         * seed), each linking two nodes at most, and its PG_DOT nodes link
         * two for each term: no node it names can gain more links. */
        uint64_t most_made = SLOTS_PER_OPERAND * (p->links + 2 * (uint64_t)p->n)
                             + 2 * (uint64_t)p->n + p->nout;
        p->light = p->most_refs + 3 * most_made + 2 * ((uint64_t)total + p->grouped)
                   < PG_MOST_REFS;
        if (!(p->terms = take(p, S_TERMS, total * sizeof(term)))
            || !(p->recs = take(p, S_RECS, p->nrecs * sizeof(term)))
            || !(p->spacing = pg_realloc(NULL, (p->ngroups ? p->ngroups : 1) * sizeof *p->spacing)))
            return PG_ENOMEM;
        memset(p->spacing, 0, p->ngroups * sizeof *p->spacing);
        int s = room_for_nodes(p, p->nout);
        if (s != PG_OK)
            return s;
        for (size_t k = 0; k < p->nout; k++)
            add_to(p, p->outs[k], node_term(mk_leaf(p, p->seeds[k])));
        return PG_OK;
    }
    for (uint32_t k = 0; k < p->n; k++) {
        uint32_t i = p->list[k];
        if (p->mode == PG_PASS_GRAD) {
            p->saved[k] = val[i].grad;
            val[i].grad = 0.0;
        } else if (pg_A.nodes[i].op != PG_LEAF) {
            val[i].grad = 0.0;
        } else if (p->hooked[k]) {
            p->saved[k] = val[i].grad;
            val[i].grad = 0.0;
        }
    }
    for (size_t k = 0; k < p->nout; k++)
        val[p->outs[k]].grad += p->seeds[k];
    return PG_OK;
}

int64_t pg_pass_run(pg_pass *p)
{
    p->room_end = 0; /* the caller may have made nodes since the last call, */
    if (p->begun)
        p->light = 0; /* and linked listed ones */
    if (p->failed)
        return PG_EARG;
    if (p->done)
        return PG_NIL;
    if (!p->listed) { /* PG_PASS_GRAD: in one sweep while no hook can stop it */
        p->listed = 1;
        if (pg_A.nhooked == 0) {
            for (size_t j = 0; j < p->nin; j++)
                pg_A.nodes[p->ins[j]].flags |= PG_INPUT;
            p->n = p->cursor = collect(p, 1);
            for (size_t j = 0; j < p->nin; j++)
                pg_A.nodes[p->ins[j]].flags &= (uint8_t)~PG_INPUT;
            p->begun = p->done = p->swept = 1;
            return PG_NIL;
        }
        p->n = collect(p, 0);
    }
    if (!p->begun) {
        int s = begin(p);
        if (s != PG_OK) {
            p->failed = 1;
            return s;
        }
        p->begun = 1;
    }
    for (; p->cursor < p->n; p->cursor++) {
        uint32_t k = p->cursor, i = p->list[k];
        if (p->mode == PG_PASS_CREATE && (p->got[k] || p->gid[k] != PG_NIL)) {
            /* every term has come */
            int s = settle(p, k);
            if (s != PG_OK) {
                p->failed = 1;
                return s;
            }
        }
        if (p->hooked[k] && !p->stopped) {
            p->stopped = 1;
            return i;
        }
        p->stopped = 0;
        const pg_node *x = &pg_A.nodes[i];
        if (p->mode == PG_PASS_CREATE) {
            if (x->op == PG_LEAF || p->gn[k] == PG_NIL || !p->needed[k])
                continue;
            int s = room_for_rule(p, k);
            if (s != PG_OK) {
                p->failed = 1;
                return s;
            }
            create_rule(p, i, p->gn[k]);
        } else if (x->op != PG_LEAF) {
            backward_rule(pg_A.val, x, i);
        } else if (p->hooked[k] && p->mode == PG_PASS_BACKWARD) {
            pg_A.val[i].grad += p->saved[k]; /* this pass's, then what it held */
        }
    }
    p->done = 1;
    return PG_NIL;
}

double pg_pass_grad(const pg_pass *p)
{
    if (!p->stopped)
        return NAN;
    uint32_t k = p->cursor;
    if (p->mode != PG_PASS_CREATE)
        return pg_A.val[p->list[k]].grad;
    return p->gn[k] == PG_NIL ? 0.0 : pg_A.val[p->gn[k]].data;
}

int pg_pass_set_grad(pg_pass *p, double grad)
{
    p->room_end = 0;
    if (!p->stopped)
        return PG_EARG;
    uint32_t k = p->cursor;
    if (p->mode != PG_PASS_CREATE) {
        pg_A.val[p->list[k]].grad = grad;
        return PG_OK;
    }
    /* the gradient becomes a leaf: nothing flows back through a hook */
    int s = room_for_nodes(p, 1);
    if (s != PG_OK)
        return s;
    p->gn[k] = mk_leaf(p, grad);
    return PG_OK;
}

int pg_pass_results(pg_pass *p, uint32_t *result)
{
    if (!p->done || p->mode == PG_PASS_BACKWARD)
        return PG_EARG;
    /* Count what is needed first: leaves for numbers, holds on nodes. */
    uint32_t leaves = 0;
    for (size_t j = 0; j < p->nin; j++) {
        uint32_t k;
        if (!listed(p, p->ins[j], &k))
            result[j] = PG_NIL;
        else if (p->mode == PG_PASS_GRAD || p->gn[k] == PG_NIL)
            leaves++;
    }
    int s = pg_reserve(leaves);
    if (s != PG_OK)
        return s;
    size_t j = 0;
    for (; j < p->nin; j++) {
        uint32_t k;
        if (!listed(p, p->ins[j], &k))
            continue;
        if (p->mode == PG_PASS_GRAD || p->gn[k] == PG_NIL) {
            double g = p->mode == PG_PASS_GRAD ? pg_A.val[p->ins[j]].grad : 0.0;
            result[j] = pg_node_new(PG_LEAF, g, PG_NIL, PG_NIL);
        } else if ((s = pg_retain(p->gn[k])) == PG_OK) {
            result[j] = p->gn[k];
        } else {
            break;
        }
    }
    if (j == p->nin)
        return PG_OK;
    while (j > 0) /* a hold would overflow: give back what was handed out */
        if (result[--j] != PG_NIL)
            pg_release(result[j]);
    return s;
}
/* ---- The gradient columns over nodes: each operation makes a node from
 * its operands' nodes (real), except MUL, which makes a term, so that the
 * product a column ends with reaches add_to unmade. Last in the file, so
 * that these names mean nothing anywhere else. */

/* Term t as a node: a product is made now. */
static uint32_t real(pg_pass *p, term t)
{
    return t.b == PG_NIL ? t.a : mk(p, PG_MUL, t.a, t.b);
}

#define T(i)        node_term(i)
#define ADD(a, b)   T(mk(p, PG_ADD, real(p, a), real(p, b)))
#define SUB(a, b)   T(mk(p, PG_SUB, real(p, a), real(p, b)))
#define MUL(a, b)   ((term){real(p, a), real(p, b)})
#define DIV(a, b)   T(mk(p, PG_DIV, real(p, a), real(p, b)))
#define NEG(a)      T(mk(p, PG_NEG, real(p, a), PG_NIL))
#define POW(a, b)   T(mk(p, PG_POW, real(p, a), real(p, b)))
#define POWK(a, k)  T(mk_powk(p, real(p, a), k))
#define LOG(a)      T(mk(p, PG_LOG, real(p, a), PG_NIL))
#define EXP(a)      T(mk(p, PG_EXP, real(p, a), PG_NIL))
#define SIN(a)      T(mk(p, PG_SIN, real(p, a), PG_NIL))
#define COS(a)      T(mk(p, PG_COS, real(p, a), PG_NIL))
#define ABS(a)      T(mk(p, PG_ABS, real(p, a), PG_NIL))
#define SIGN(a)     T(mk(p, PG_SIGN, real(p, a), PG_NIL))
#define RELU(a)     T(mk(p, PG_RELU, real(p, a), PG_NIL))
#define MASK(c, a)  T(mk(p, PG_MASK, real(p, c), real(p, a)))
#define TANHB(a, y) T(mk(p, PG_TANH_BACK, real(p, a), real(p, y)))
#define SIGB(a, y)  T(mk(p, PG_SIGMOID_BACK, real(p, a), real(p, y)))
#define K(c)        T(mk_const(p, c, 1))
#define ZERO        T(PG_NIL)

/* A PG_RUNS dot's gradient g passed on to its run of m nodes from members,
 * whose partners are the other run's, from partners: one record when they
 * are a run group (PG_DOT_GRAD is g times the partner, so member j's term
 * is the record's with j added to b), else a term each. */
static inline void run_terms(pg_pass *p, uint32_t members, uint32_t partners, uint32_t m,
                             term g)
{
    uint32_t k0 = p->slot[members], G = p->gid[k0];
    if (G != PG_NIL) { /* pure, so these links are its records */
        p->recs[p->groups[G].at + p->got[k0]++] = PG_DOT_GRAD(g, T(partners));
        return;
    }
    for (uint32_t j = 0; j < m; j++)
        ADD_HERE(members + j, PG_DOT_GRAD(g, T(partners + j)));
}

/* Passes node i's gradient node gi on to its operands, in the order of
 * backward_rule (rules.h), so that each operand's terms come in the order
 * the float passes add them. */
static void create_rule(pg_pass *p, uint32_t i, uint32_t gi)
{
    const pg_node *n = &pg_A.nodes[i];
    term x = T(n->parent[0]), y = T(n->parent[1]), g = T(gi), out = T(i);
    (void)y;
    (void)out;
    switch (n->op) {
#define R(OP, OUT, DX, DY)      \
    case OP:                    \
        ADD_TO(x.a, DX);        \
        ADD_TO(y.a, DY);        \
        break;
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                                         \
    case OP: {                                                 \
        double k = OP == PG_POWK ? pg_A.val[y.a].data : 0.0;   \
        (void)k;                                               \
        ADD_TO(x.a, DX);                                       \
        break;                                                 \
    }
        PG_UNARY_RULES(R)
#undef R
    default: { /* n-ary: the loops of nary_backward */
        uint32_t count;
        /* the operand array stays put while nodes are made (the arena may not) */
        const uint32_t *v = pg_operands(n, &count);
        const int runs = n->flags & PG_RUNS;
        const uint32_t bias = n->op == PG_DOT && (count & 1) ? pg_operand(n, v, count, count - 1) : PG_NIL;
        switch (n->op) {
        case PG_SUM:
            for (uint32_t j = 0; j < count; j++)
                ADD_HERE(v[j], PG_SUM_GRAD(g));
            break;
        case PG_DOT:
            if (runs) {
                run_terms(p, v[0], v[1], count / 2, g);
                run_terms(p, v[1], v[0], count / 2, g);
            } else if (n->flags & PG_STRIDED) {
                uint32_t a = v[0], b = v[1];
                for (uint32_t j = 0; j < count / 2; j++, a += v[3], b += v[4]) {
                    ADD_HERE(a, PG_DOT_GRAD(g, T(b)));
                    ADD_HERE(b, PG_DOT_GRAD(g, T(a)));
                }
            } else {
                for (uint32_t j = 0; j + 1 < count; j += 2) {
                    ADD_HERE(v[j], PG_DOT_GRAD(g, T(v[j + 1])));
                    ADD_HERE(v[j + 1], PG_DOT_GRAD(g, T(v[j])));
                }
            }
            if (bias != PG_NIL)
                ADD_TO(bias, PG_DOT_BIAS_GRAD(g));
            break;
        default: /* PG_LOGSUMEXP */
            for (uint32_t j = 0; j < count; j++)
                ADD_TO(v[j], PG_LOGSUMEXP_GRAD(g, T(v[j]), out));
        }
    }
    }
}
