/* arena.h: the arena's layout, shared by the core's C files (not part of the
 * C API, which is pygrad.h). */
#ifndef PYGRAD_ARENA_H
#define PYGRAD_ARENA_H

#include "pygrad.h"

/* No node: an absent parent, the end of a list. */
#define PG_NIL UINT32_MAX
/* The op code of a slot on the free list. */
#define PG_FREE 0xFF

/* A node's value and gradient: the arena's val[] array, at the node's index.
 * Nodes made one after another (a layer's weights, a batch of inputs) have
 * theirs side by side, which the dense loops of rules.h and optim.c read as
 * plain arrays. */
typedef struct pg_value {
    double data;
    double grad;
} pg_value;

/* One node's structure: 16 bytes, kept apart from its value so that the
 * passes' index-chasing and the dense loops each read only what they need. */
typedef struct pg_node {
    union {
        uint32_t parent[2]; /* operand indices; PG_NIL past the op's arity, except
                               that PG_POWK's second names the leaf holding its
                               exponent (held, never shown as an operand). A free
                               slot: parent[0] is the next free slot, or PG_NIL */
        uint32_t *operands; /* an n-ary op's, owned: operands[0] is their count,
                               operands[1..count] their indices; a PG_RUNS
                               dot's holds only operands[1..3]: its runs'
                               starts and its bias, a PG_STRIDED dot's
                               operands[1..5]: those and its steps (see
                               pg_operand) */
    };
    uint32_t pos;        /* this node's entry in the creation log: log[pos] is
                            its index; an operand's pos is below its child's */
    uint8_t op;          /* a pg_op, or PG_FREE */
    uint8_t flags;       /* PG_SEEN, PG_RUNS, PG_HOOK, ... (below) */
    uint16_t holds;      /* the references in side[].refs held from outside the
                            arena (Values, optimizers), at most PG_MAX_HOLDS;
                            the rest are child links. pg_release gives back a
                            hold, never a link, so no caller can free a node
                            that a live node still names */
} pg_node;

#define PG_MAX_HOLDS UINT16_MAX

/* flags. PG_SEEN: set only inside graph.c's passes, on a node found under
 * the root and not yet reached; clear everywhere else. PG_RUNS: set when the
 * node is made, on a PG_DOT node whose weights and inputs are each a run of
 * consecutive indices (operand 2j is operand 0 + j, operand 2j + 1 is
 * operand 1 + j) and the two runs are the same or do not overlap, so that
 * rules.h may read them as two plain arrays; never changes after. Such a
 * node keeps the runs' starts and its bias, not its whole operand list. */
#define PG_SEEN 1
#define PG_RUNS 2
/* PG_HOOK: pg_hook's flag, at which pass objects (grad.c) stop. */
#define PG_HOOK 4
/* PG_EXT: the node owns an ext record (a label, a kept order), found through
 * arena.ext_index; nodes without it never look there. */
#define PG_EXT 8
/* PG_INPUT: set only inside grad.c's one-sweep PG_PASS_GRAD, on its inputs,
 * whose grads it keeps until the results are read; clear everywhere else. */
#define PG_INPUT 16
/* PG_STRIDED: set when the node is made, on a PG_DOT node without PG_RUNS
 * whose weights and inputs are each evenly spaced (operand 2j is operand 0 +
 * j * step_w, operand 2j + 1 is operand 1 + j * step_x, in uint32_t
 * arithmetic, so that a step may be negative or 0); never changes after.
 * Such a node keeps its count, the runs' starts, its bias and the two steps:
 * a derivative graph's dot over a batch, which names one node of each
 * example, costs 24 bytes instead of 8 a term, and the passes over it read
 * no list. */
#define PG_STRIDED 32

/* The rest of slot i, at side[i]: 4 bytes. */
typedef struct pg_side {
    uint32_t refs;       /* handles (Values, optimizers) plus child links. Inside
                            pg_release, once 0: the next node waiting to be
                            freed, or PG_NIL */
} pg_side;

/* What a few nodes carry beyond their slot: a label, a kept order. */
typedef struct pg_ext {
    char *label;         /* owned; NULL when none */
    uint32_t *order;     /* owned; pg_order's result for this root, or NULL */
    uint32_t norder;     /* entries in order */
    uint32_t owner;      /* the node (flagged PG_EXT) that owns this record,
                            or PG_NIL while the record is free */
    uint32_t next_free;  /* free record: the next free record, or PG_NIL */
    uint32_t newer, older; /* with an order: neighbours in the kept-order list,
                            most recently used first; PG_NIL at either end */
    uint8_t listing;     /* grad.c keeps the listing of a pass from this node,
                            forgotten when the node is freed */
} pg_ext;

/* Kept orders are dropped, least recently used first, once they hold more
 * than this many bytes together; the order in use is always kept. (A build
 * may set it lower, as the fuzzer's does to reach that path.) */
#ifndef PG_ORDER_BUDGET
#define PG_ORDER_BUDGET (8u << 20)
#endif

/* Where the creation log changes scope: log entry q, from pos up to the next
 * run's pos, was made in scope `scope + (q - pos) * step` (pg_scope_set);
 * entries before the first run, in scope 0. step is 0, or 1 for a dense
 * layer's neurons, made one after another in consecutive scopes. A node's
 * scope costs it no bytes: only a node whose scope does not follow from the
 * run before starts a run. Runs are maximal: none follows from the one
 * before, and the first is not scope 0 with step 0. */
typedef struct pg_scope_run {
    uint32_t pos, scope, step;
} pg_scope_run;

typedef struct pg_arena {
    /* Slot i is nodes[i], val[i] and side[i]: three blocks of cap entries;
     * [0, used) handed out, live or free. */
    pg_node *nodes;
    pg_value *val;       /* inside val_block, which the arena owns */
    void *val_block;
    pg_side *side;
    uint32_t cap, used;
    uint32_t free_head;  /* first free slot, or PG_NIL */
    uint32_t nfree;      /* length of the free list */
    uint32_t freed_since_trim; /* frees since arena.c's trim last ran */
    uint32_t lone_top;   /* a live node alone in the upper half of the slots
                            at the last trim, whose release trims again; or
                            PG_NIL */
    uint32_t limit;      /* most slots allowed (pg_test_node_limit) */
    uint64_t made;       /* nodes made since the process began (pg_made) */
    uint32_t nhooked;    /* live nodes with PG_HOOK */
    /* Scope runs, in pos order: [0, nruns) of runs_cap. Compacting the log
     * rewrites their pos and drops the runs left empty. */
    pg_scope_run *runs;
    uint32_t nruns, runs_cap;
    uint32_t scope_watch;    /* 0 when the next entry would be scope 0 by the
                                runs (none, or the last one scope 0, step 0) */
    uint32_t scoped_threads; /* threads whose pg_scope_now is not 0 */
    /* The creation log: the index of every node made, in the order made.
     * [0, log_len) is in use; entry q is current while log[q] names a live
     * node whose pos is q, and stale after that node is freed. Because a
     * node's operands exist before it, descending log order is a topological
     * order of every graph, and the one graph.c's passes follow. Compacting
     * drops stale entries, keeps the order and rewrites pos. */
    uint32_t *log;
    uint32_t log_len, log_cap;
    uint64_t *marks;     /* one bit per log entry (log_cap bits); all 0 except
                            inside graph.c's sweep */
    pg_ext *ext;         /* ext_cap entries; [0, ext_used) handed out */
    uint32_t ext_cap, ext_used, ext_free;
    uint32_t ext_owned;  /* records with an owner */
    /* Which record a node owns: index_cap (0 or a power of two, at least
     * twice ext_owned) entries, each a record index or PG_NIL, a record
     * standing at or after the hash of its owner (pg_ext_find), with no
     * empty entry between. Records keep their index while owned. */
    uint32_t *ext_index;
    uint32_t index_cap;
    uint32_t norders;    /* roots with a kept order */
    uint32_t newest, oldest; /* ends of the kept-order list, or PG_NIL */
    uint64_t order_bytes;
    uint64_t label_bytes;
    uint64_t operand_bytes; /* of every n-ary node's block, pg_block_bytes */
    uint32_t fail_countdown; /* pg_test_fail_alloc: fails the allocation at which
                                this reaches 0 from 1; 0 means none fails */
} pg_arena;

/* The one arena of the process (arena.c). */
extern pg_arena pg_A;

/* The calling thread's scope, given to every node it makes (pg_scope_set). */
extern _Thread_local uint32_t pg_scope_now;

/* Sets the calling thread's scope, keeping scoped_threads; returns the old. */
uint32_t pg_scope_switch(uint32_t s);

/* Makes room for k more scope runs; on failure nothing changes that anyone
 * can see. pg_reserve and pg_reserve_run make room for two, enough for any
 * call that makes all its nodes in one scope (a first node that extends a
 * counting run, the rest in a run of their own). */
int pg_scope_room(uint32_t k);

/* realloc through the failure-injection hook; NULL on failure. */
void *pg_realloc(void *p, size_t n);

/* Makes room for n new nodes, in slots and in the creation log, growing the
 * arena if the free list and the unused tail are short. On failure nothing
 * changes that anyone can see. */
int pg_reserve(uint32_t n);

/* Makes room for n new nodes in consecutive slots past the top one, and in
 * the creation log; on failure nothing changes that anyone can see. */
int pg_reserve_run(uint32_t n);

/* Makes n leaves holding data[0 .. n-1] in the slots past the top one
 * (pg_reserve_run must have made room), each with one hold for the caller,
 * logged in index order. Returns the first one's index. */
uint32_t pg_run_new(uint32_t n, const double *data);

/* Makes the n-ary node op over operands (owned from here on, with their count
 * first; with flags PG_RUNS or PG_STRIDED, a dot's runs as pg_operand reads
 * them), whose links the caller has taken, with one hold for the caller and
 * its value from its rule (ops.c). The caller has reserved its slot. */
uint32_t pg_nary_node(uint8_t op, uint32_t *operands, uint8_t flags);

/* Trims the arena as a large release does (arena.c: the free list relinked
 * in index order, unused memory given back) when more than an eighth of the
 * slots in use were freed since the last trim: called before a pass makes a
 * graph, so that its nodes take ascending slots in the order made, as the
 * first such graph's did, and its dots over a batch come out evenly spaced
 * (PG_STRIDED) every time, not only the first. Moves no live node. */
void pg_tidy(void);

/* Takes a hold on each of idx[0 .. n-1] (an index may repeat) as pg_retain
 * does; on failure gives back what it took and returns pg_retain's status. */
int pg_hold_all(const uint32_t *idx, size_t n);

/* Drops one reference to live node i that is not a hold (a link); at zero,
 * frees it and releases what it links to, iteratively. */
void pg_unlink(uint32_t i);

/* The ext record of node i, created on demand; NULL when allocation fails. */
pg_ext *pg_ext_of(uint32_t i);

/* Where node i's record stands in ext_index, when it has one. */
static inline uint32_t pg_ext_home(uint32_t i, uint32_t cap)
{
    return (uint32_t)(((uint64_t)i * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* The ext record of live node i, or NULL when it has none. Allocates nothing. */
static inline pg_ext *pg_ext_find(uint32_t i)
{
    if (!(pg_A.nodes[i].flags & PG_EXT))
        return NULL;
    for (uint32_t s = pg_ext_home(i, pg_A.index_cap);; s = (s + 1) & (pg_A.index_cap - 1))
        if (pg_A.ext[pg_A.ext_index[s]].owner == i)
            return &pg_A.ext[pg_A.ext_index[s]];
}

/* Keeps order (n entries, owned from now on by the arena) as node i's, whose
 * ext record x has none, and drops the least recently used others until the
 * kept orders fit PG_ORDER_BUDGET. */
void pg_order_keep(pg_ext *x, uint32_t *order, uint32_t n);
/* Marks x's kept order as the most recently used. */
void pg_order_touch(pg_ext *x);

/* Frees the blocks grad.c keeps from the last pass for the next one: the
 * arena's trim calls it when it gives memory back. */
void pg_pass_spares_free(void);
/* The bytes of those blocks, and of the kept listing. */
uint64_t pg_pass_spares_bytes(void);
/* Drops grad.c's kept listing (its output is being freed, or the arena
 * shrinks), unless a pass is reading it. */
void pg_pass_kept_forget(void);

/* The last binary op: ops PG_ADD .. PG_LAST_BINARY have two operands. */
#define PG_LAST_BINARY PG_SIGMOID_BACK

/* Nonzero for an op with any number of operands, kept in pg_node.operands. */
static inline int pg_is_nary(uint8_t op)
{
    return op >= PG_SUM && op < PG_NOPS;
}

/* Node n's *count operands as stored (none for a leaf; PG_POWK's hidden
 * exponent leaf is not one of them): read them with pg_operand, since a
 * PG_RUNS dot stores three entries for any count, a PG_STRIDED one five. */
static inline const uint32_t *pg_operands(const pg_node *n, uint32_t *count)
{
    if (pg_is_nary(n->op)) {
        *count = n->operands[0];
        return n->operands + 1;
    }
    *count = n->op == PG_LEAF ? 0 : n->op <= PG_LAST_BINARY ? 2 : 1;
    return n->parent;
}

/* Operand k (k < count) of node n, whose stored operands pg_operands gave as
 * v: v[k], except for a PG_RUNS dot, which stores its weights' first index,
 * its inputs' first and its bias (v[0], v[1], v[2]) and no other, so that a
 * dense layer's node costs the same few bytes at any width, and a PG_STRIDED
 * dot, which stores those and its weights' step and its inputs' (v[3], v[4]). */
static inline uint32_t pg_operand(const pg_node *n, const uint32_t *v, uint32_t count,
                                  uint32_t k)
{
    if (!(n->flags & (PG_RUNS | PG_STRIDED)))
        return v[k];
    if ((count & 1) && k == count - 1)
        return v[2];
    return v[k & 1] + k / 2 * (n->flags & PG_STRIDED ? v[3 + (k & 1)] : 1);
}

/* The bytes of an operand block for count operands of a node with flags. */
static inline size_t pg_block_size(size_t count, uint8_t flags)
{
    return (flags & PG_RUNS ? 4 : flags & PG_STRIDED ? 6 : count + 1) * sizeof(uint32_t);
}

/* The bytes of n-ary node n's operand block. */
static inline size_t pg_block_bytes(const pg_node *n)
{
    return pg_block_size(n->operands[0], n->flags);
}

/* Runs BODY once for each operand of node n, in order, with the operand's
 * index in the uint32_t variable named O: pg_operand unrolled for the hot
 * loops, so that one and two operands are read straight from the node and a
 * PG_RUNS or PG_STRIDED dot's are counted up, not worked out one at a time.
 * BODY may not change n. PG_EACH_OPERAND_AHEAD also runs AHEAD, in a
 * plain operand list, with O the operand PG_AHEAD places on, for it to
 * prefetch what BODY will read there: such a list (a derivative graph's dot
 * over an input's uses) names nodes far apart, whose cache misses the loop
 * would otherwise wait for one at a time. Runs and strided operands are
 * counted up, which the hardware prefetches by itself. */
#define PG_EACH_OPERAND_AHEAD(n, O, AHEAD, BODY)                          \
    do {                                                                      \
        const pg_node *pg_n_ = (n);                                           \
        if (!pg_is_nary(pg_n_->op)) {                                         \
            if (pg_n_->op != PG_LEAF) {                                       \
                { const uint32_t O = pg_n_->parent[0]; BODY; }                \
                if (pg_n_->op <= PG_LAST_BINARY) {                            \
                    const uint32_t O = pg_n_->parent[1];                      \
                    BODY;                                                     \
                }                                                             \
            }                                                                 \
            break;                                                            \
        }                                                                     \
        const uint32_t pg_count_ = pg_n_->operands[0];                        \
        const uint32_t *pg_v_ = pg_n_->operands + 1;                          \
        if (pg_n_->flags & PG_RUNS) {                                         \
            for (uint32_t pg_j_ = 0; pg_j_ < pg_count_ / 2; pg_j_++) {        \
                { const uint32_t O = pg_v_[0] + pg_j_; BODY; }                \
                { const uint32_t O = pg_v_[1] + pg_j_; BODY; }                \
            }                                                                 \
            if (pg_count_ & 1) { const uint32_t O = pg_v_[2]; BODY; }         \
        } else if (pg_n_->flags & PG_STRIDED) {                               \
            uint32_t pg_w_ = pg_v_[0], pg_x_ = pg_v_[1];                      \
            for (uint32_t pg_j_ = 0; pg_j_ < pg_count_ / 2; pg_j_++) {        \
                { const uint32_t O = pg_w_; BODY; }                           \
                { const uint32_t O = pg_x_; BODY; }                           \
                pg_w_ += pg_v_[3];                                            \
                pg_x_ += pg_v_[4];                                            \
            }                                                                 \
            if (pg_count_ & 1) { const uint32_t O = pg_v_[2]; BODY; }         \
        } else {                                                              \
            for (uint32_t pg_j_ = 0; pg_j_ < pg_count_; pg_j_++) {            \
                if (pg_j_ + PG_AHEAD < pg_count_) {                           \
                    const uint32_t O = pg_v_[pg_j_ + PG_AHEAD];               \
                    AHEAD;                                                    \
                }                                                             \
                const uint32_t O = pg_v_[pg_j_];                              \
                BODY;                                                         \
            }                                                                 \
        }                                                                     \
    } while (0)

#define PG_EACH_OPERAND(n, O, BODY) PG_EACH_OPERAND_AHEAD(n, O, (void)O, BODY)
/* How far ahead the n-ary loops prefetch the nodes their operands name. */
#define PG_AHEAD 24

/* A node's refs stay below this, or reach it plus one at most (a*a takes
 * two at once), well short of PG_NIL, which pg_unlink's pending list uses.
 * (The fuzzer's build sets it low to reach the paths that refuse a link.) */
#ifndef PG_MOST_REFS
#define PG_MOST_REFS (UINT32_MAX - 2)
#endif

/* Nonzero while live node i can take another reference without its count
 * overflowing. */
static inline int pg_can_ref(uint32_t i)
{
    return pg_A.side[i].refs < PG_MOST_REFS;
}

/* Nonzero while live node i can take another hold. */
static inline int pg_can_hold(uint32_t i)
{
    return pg_can_ref(i) && pg_A.nodes[i].holds < PG_MAX_HOLDS;
}

/* Nonzero when i names a live node. */
static inline int pg_live(uint32_t i)
{
    return i < pg_A.used && pg_A.nodes[i].op != PG_FREE;
}

/* Records that the next log entry is made in the calling thread's scope
 * (arena.c): called only while scopes are in use. */
void pg_note_scope(void);

/* Takes a slot from the free list or the tail (pg_reserve must have made room),
 * fills it as a node with one reference, a hold for the caller, logs it, and
 * takes a reference (a link) to each parent. Inline: building a graph and
 * building a gradient graph both make one node at a time. */
static inline uint32_t pg_node_new(uint8_t op, double data, uint32_t p0, uint32_t p1)
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
    pg_A.val[i] = (pg_value){data, 0.0};
    n->parent[0] = p0;
    n->parent[1] = p1;
    n->pos = pg_A.log_len;
    n->op = op;
    n->flags = 0;
    n->holds = 1;
    if (pg_A.scoped_threads | pg_A.scope_watch)
        pg_note_scope();
    pg_A.log[pg_A.log_len++] = i;
    pg_A.side[i] = (pg_side){.refs = 1};
    pg_A.made++;
    if (p0 != PG_NIL)
        pg_A.side[p0].refs++;
    if (p1 != PG_NIL)
        pg_A.side[p1].refs++;
    return i;
}

#endif /* PYGRAD_ARENA_H */
