/* arena.c: node storage and lifetime: slots, the free list, reference counts,
 * labels and kept orders, figures, and the testing hooks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

pg_arena pg_A = {
    .free_head = PG_NIL,
    .ext_free = PG_NIL,
    .newest = PG_NIL,
    .oldest = PG_NIL,
    .lone_top = PG_NIL,
    .limit = PG_NIL, /* indices 0 .. PG_NIL - 1 */
};

_Thread_local uint32_t pg_scope_now;

void *pg_realloc(void *p, size_t n)
{
    if (pg_A.fail_countdown && --pg_A.fail_countdown == 0)
        return NULL;
    return realloc(p, n);
}

/* The smallest power of two times floor that is at least n. */
static uint64_t pow2_at_least(uint64_t n, uint64_t floor)
{
    uint64_t cap = floor;
    while (cap < n)
        cap *= 2;
    return cap;
}

/* Builds scope runs one log entry at a time: out[0 .. n-1] are finished,
 * last is the open run (pos PG_NIL while none). With out NULL, only counts. */
typedef struct runs_builder {
    pg_scope_run *out;
    uint32_t n;
    pg_scope_run last;
} runs_builder;

/* Adds log entry pos (the next one), made in scope s. */
static void runs_add(runs_builder *b, uint32_t pos, uint32_t s)
{
    pg_scope_run *r = &b->last;
    if (r->pos == PG_NIL) {
        if (s == 0)
            return; /* before the first run: scope 0 already */
    } else {
        if (r->scope + (pos - r->pos) * r->step == s)
            return; /* follows from the open run */
        if (r->step == 0 && pos - r->pos == 1 && s == r->scope + 1) {
            r->step = 1; /* its second entry starts a counting run */
            return;
        }
        if (b->out)
            b->out[b->n] = *r;
        b->n++;
    }
    *r = (pg_scope_run){pos, s, 0};
}

/* Closes the open run; returns the number of runs. */
static uint32_t runs_finish(runs_builder *b)
{
    if (b->last.pos != PG_NIL) {
        if (b->out)
            b->out[b->n] = b->last;
        b->n++;
    }
    return b->n;
}

/* The scope of log entry q, which run number r (or none, r == PG_NIL) holds. */
static uint32_t entry_scope(uint32_t r, uint32_t q)
{
    if (r == PG_NIL)
        return 0;
    const pg_scope_run *run = &pg_A.runs[r];
    return run->scope + (q - run->pos) * run->step;
}

/* Sets scope_watch from the last run. */
static void watch_runs(void)
{
    const pg_scope_run *r = pg_A.nruns ? &pg_A.runs[pg_A.nruns - 1] : NULL;
    pg_A.scope_watch = r && (r->scope || r->step);
}

/* Whether log entry q is current: it names a live node whose pos is q. */
static inline int entry_current(uint32_t q)
{
    uint32_t i = pg_A.log[q];
    return pg_live(i) && pg_A.nodes[i].pos == q;
}

/* Drops the log's stale entries, keeping the order of the rest, and points
 * each live node's pos at its new entry; with runs (room for the runs the
 * live entries need), also remakes the scope runs to match, in the same
 * pass. Returns how many runs that made. */
static uint32_t compact_entries(pg_scope_run *runs)
{
    runs_builder b = {runs, 0, {PG_NIL, 0, 0}};
    pg_node *nodes = pg_A.nodes;
    uint32_t w = 0, r = PG_NIL;
    for (uint32_t q = 0; q < pg_A.log_len; q++) {
        if (entry_current(q)) {
            uint32_t i = pg_A.log[q];
            if (runs) {
                while (r + 1 < pg_A.nruns && pg_A.runs[r + 1].pos <= q) /* PG_NIL + 1 == 0 */
                    r++;
                runs_add(&b, w, entry_scope(r, q));
            }
            pg_A.log[w] = i;
            nodes[i].pos = w++;
        }
    }
    pg_A.log_len = w;
    return runs_finish(&b);
}

/* How many runs the log's live entries need, as compacting would remake them. */
static uint32_t live_runs(void)
{
    runs_builder b = {NULL, 0, {PG_NIL, 0, 0}};
    uint32_t r = PG_NIL, w = 0;
    for (uint32_t q = 0; q < pg_A.log_len; q++) {
        while (r + 1 < pg_A.nruns && pg_A.runs[r + 1].pos <= q)
            r++;
        if (entry_current(q))
            runs_add(&b, w++, entry_scope(r, q));
    }
    return runs_finish(&b);
}

/* Compacts the log (compact_entries) and remakes the scope runs into a new
 * block. Fails, changing nothing, when there is no memory for it. A run
 * with step 1 can split where its entries died, one more run at most per
 * entry: when that bound is small the block is sized by it, else by
 * counting first. */
static int log_compact(void)
{
    if (!pg_A.nruns) {
        compact_entries(NULL);
        return PG_OK;
    }
    uint64_t bound = pg_A.nruns;
    for (uint32_t r = 0; r < pg_A.nruns; r++)
        if (pg_A.runs[r].step)
            bound += (r + 1 < pg_A.nruns ? pg_A.runs[r + 1].pos : pg_A.log_len) - pg_A.runs[r].pos;
    if (bound > 4 * (uint64_t)pg_A.nruns + 1024 || bound >= PG_NIL)
        bound = live_runs(); /* at most one a live entry: below PG_NIL */
    pg_scope_run *runs = pg_realloc(NULL, (size_t)(bound + 1) * sizeof *runs);
    if (!runs)
        return PG_ENOMEM;
    uint32_t n = compact_entries(runs);
    free(pg_A.runs);
    pg_A.runs_cap = (uint32_t)bound + 1;
    if (n + 16 < bound) { /* a block that fails to shrink serves as well */
        pg_scope_run *fit = realloc(runs, (size_t)(n + 1) * sizeof *runs);
        if (fit) {
            runs = fit;
            pg_A.runs_cap = n + 1;
        }
    }
    pg_A.runs = runs;
    pg_A.nruns = n;
    watch_runs();
    return PG_OK;
}

/* The scope of log entry q: that of the last run starting at or before it. */
static uint32_t scope_at(uint32_t q)
{
    uint32_t lo = 0, hi = pg_A.nruns; /* runs [0, lo) start at or before q */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pg_A.runs[mid].pos <= q)
            lo = mid + 1;
        else
            hi = mid;
    }
    return entry_scope(lo ? lo - 1 : PG_NIL, q);
}

/* Records that the next log entry is made in scope s, which does not follow
 * from the last run (room for one more run was made by pg_scope_room). */
static void start_run(uint32_t s)
{
    runs_builder b = {pg_A.runs, 0, {PG_NIL, 0, 0}};
    if (pg_A.nruns) {
        b.n = pg_A.nruns - 1;
        b.last = pg_A.runs[b.n];
    }
    runs_add(&b, pg_A.log_len, s);
    pg_A.nruns = runs_finish(&b);
    watch_runs();
}

void pg_note_scope(void)
{
    uint32_t s = pg_scope_now;
    const pg_scope_run *last = pg_A.nruns ? &pg_A.runs[pg_A.nruns - 1] : NULL;
    if (!last || last->scope + (pg_A.log_len - last->pos) * last->step != s)
        start_run(s);
}

int pg_scope_room(uint32_t k)
{
    if ((uint64_t)pg_A.nruns + k <= pg_A.runs_cap)
        return PG_OK;
    uint64_t cap = pow2_at_least((uint64_t)pg_A.nruns + k, 16);
    if (cap > UINT32_MAX)
        return PG_EFULL;
    pg_scope_run *runs = pg_realloc(pg_A.runs, (size_t)cap * sizeof *runs);
    if (!runs)
        return PG_ENOMEM;
    pg_A.runs = runs;
    pg_A.runs_cap = (uint32_t)cap;
    return PG_OK;
}

uint32_t pg_scope_switch(uint32_t s)
{
    uint32_t old = pg_scope_now;
    pg_scope_now = s;
    pg_A.scoped_threads += (s != 0) - (old != 0);
    return old;
}

/* Makes room for n more log entries: by compacting when that leaves at least
 * half the log free (so that a compaction, which reads the whole log, is paid
 * for by as many entries made after it), else by growing the log and its
 * marks. */
static int log_room(uint32_t n)
{
    int s = pg_scope_room(2);
    if (s != PG_OK)
        return s;
    if ((uint64_t)pg_A.log_len + n <= pg_A.log_cap)
        return PG_OK;
    uint32_t live = pg_A.used - pg_A.nfree;
    if ((uint64_t)live + n <= pg_A.log_cap / 2 && log_compact() == PG_OK)
        return PG_OK;
    uint64_t need = (uint64_t)pg_A.log_len + n;
    uint64_t cap = pow2_at_least(need, pg_A.log_cap ? pg_A.log_cap : 1024);
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

/* val[] starts STAGGER bytes into its block. Large blocks start at the same
 * offset in a page, so without it val[i] and nodes[i] would too, and the
 * passes, which read both at each index, ran 8% slower for it. realloc keeps
 * the offset, as it keeps the contents. */
#define STAGGER 2112

static pg_value *values_of(void *block)
{
    return (pg_value *)((char *)block + STAGGER);
}

/* Grows the blocks of slots to hold at least need slots. */
static int grow(uint64_t need)
{
    if (need > pg_A.limit)
        return PG_EFULL;
    uint64_t cap = pow2_at_least(need, pg_A.cap ? pg_A.cap : 1024);
    if (cap > pg_A.limit)
        cap = pg_A.limit;
    if (cap > (SIZE_MAX - STAGGER) / sizeof(pg_value))
        return PG_ENOMEM;
    /* If a later block fails, the earlier ones are left larger than cap,
     * which serves as well. */
    pg_side *side = pg_realloc(pg_A.side, (size_t)cap * sizeof(pg_side));
    if (!side)
        return PG_ENOMEM;
    pg_A.side = side;
    pg_node *nodes = pg_realloc(pg_A.nodes, (size_t)cap * sizeof(pg_node));
    if (!nodes)
        return PG_ENOMEM;
    pg_A.nodes = nodes;
    void *block = pg_realloc(pg_A.val_block, (size_t)cap * sizeof(pg_value) + STAGGER);
    if (!block)
        return PG_ENOMEM;
    pg_A.val_block = block;
    pg_A.val = values_of(block);
    pg_A.cap = (uint32_t)cap;
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
    return grow((uint64_t)pg_A.used + (n - pg_A.nfree));
}

int pg_reserve_run(uint32_t n)
{
    int s = log_room(n);
    if (s != PG_OK)
        return s;
    if (pg_A.cap - pg_A.used >= n)
        return PG_OK;
    return grow((uint64_t)pg_A.used + n);
}

uint32_t pg_run_new(uint32_t n, const double *data)
{
    /* Past the top slot, not from the free list: the only way to be sure of
     * n neighbours. */
    uint32_t first = pg_A.used;
    for (uint32_t i = first; i < first + n; i++) {
        if (pg_A.scoped_threads | pg_A.scope_watch) /* adds at most two runs */
            pg_note_scope();
        pg_A.val[i] = (pg_value){data[i - first], 0.0};
        pg_A.nodes[i] = (pg_node){.parent = {PG_NIL, PG_NIL}, .pos = pg_A.log_len,
                                  .op = PG_LEAF, .holds = 1};
        pg_A.log[pg_A.log_len++] = i;
        pg_A.side[i] = (pg_side){.refs = 1};
    }
    pg_A.used += n;
    pg_A.made += n;
    return first;
}

/* Puts record e in ext_index, at or after its owner's home. */
static void index_put(uint32_t e)
{
    uint32_t mask = pg_A.index_cap - 1, s = pg_ext_home(pg_A.ext[e].owner, pg_A.index_cap);
    while (pg_A.ext_index[s] != PG_NIL)
        s = (s + 1) & mask;
    pg_A.ext_index[s] = e;
}

/* Remakes ext_index with cap entries (a power of two, above ext_owned);
 * on failure nothing changes. */
static int index_remake(uint64_t cap)
{
    uint32_t *index = pg_realloc(NULL, (size_t)cap * sizeof(uint32_t));
    if (!index)
        return PG_ENOMEM;
    free(pg_A.ext_index);
    pg_A.ext_index = index;
    pg_A.index_cap = (uint32_t)cap;
    for (uint64_t s = 0; s < cap; s++)
        index[s] = PG_NIL;
    for (uint32_t e = 0; e < pg_A.ext_used; e++)
        if (pg_A.ext[e].owner != PG_NIL)
            index_put(e);
    return PG_OK;
}

/* Takes node i's record out of ext_index, moving back each record after it
 * that may stand in its place, so that none stands past an empty entry. */
static void index_take(uint32_t i)
{
    uint32_t mask = pg_A.index_cap - 1, *index = pg_A.ext_index;
    uint32_t hole = pg_ext_home(i, pg_A.index_cap);
    while (pg_A.ext[index[hole]].owner != i)
        hole = (hole + 1) & mask;
    for (uint32_t s = (hole + 1) & mask; index[s] != PG_NIL; s = (s + 1) & mask) {
        uint32_t home = pg_ext_home(pg_A.ext[index[s]].owner, pg_A.index_cap);
        if (((s - home) & mask) >= ((s - hole) & mask)) { /* hole lies in [home, s) */
            index[hole] = index[s];
            hole = s;
        }
    }
    index[hole] = PG_NIL;
}

pg_ext *pg_ext_of(uint32_t i)
{
    pg_ext *found = pg_ext_find(i);
    if (found)
        return found;
    if ((uint64_t)pg_A.ext_owned * 2 + 2 > pg_A.index_cap
        && index_remake(pow2_at_least((uint64_t)pg_A.ext_owned * 2 + 2, 64)) != PG_OK)
        return NULL;
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
    pg_A.ext[e] = (pg_ext){.owner = i, .next_free = PG_NIL, .newer = PG_NIL, .older = PG_NIL};
    index_put(e);
    pg_A.ext_owned++;
    pg_A.nodes[i].flags |= PG_EXT;
    return &pg_A.ext[e];
}

/* Takes x, which has an order, out of the kept-order list. */
static void order_unlink(pg_ext *x)
{
    if (x->newer != PG_NIL)
        pg_A.ext[x->newer].older = x->older;
    else
        pg_A.newest = x->older;
    if (x->older != PG_NIL)
        pg_A.ext[x->older].newer = x->newer;
    else
        pg_A.oldest = x->newer;
    x->newer = x->older = PG_NIL;
}

/* Puts x, which has an order, at the most recently used end of the list. */
static void order_link_newest(pg_ext *x)
{
    uint32_t e = (uint32_t)(x - pg_A.ext);
    x->newer = PG_NIL;
    x->older = pg_A.newest;
    if (pg_A.newest != PG_NIL)
        pg_A.ext[pg_A.newest].newer = e;
    else
        pg_A.oldest = e;
    pg_A.newest = e;
}

/* Frees x's kept order, if it has one, and takes it off the figures. */
static void order_drop(pg_ext *x)
{
    if (!x->order)
        return;
    order_unlink(x);
    pg_A.order_bytes -= (uint64_t)x->norder * sizeof(uint32_t);
    pg_A.norders--;
    free(x->order);
    x->order = NULL;
    x->norder = 0;
}

void pg_order_touch(pg_ext *x)
{
    order_unlink(x);
    order_link_newest(x);
}

void pg_order_keep(pg_ext *x, uint32_t *order, uint32_t n)
{
    x->order = order;
    x->norder = n;
    pg_A.norders++;
    pg_A.order_bytes += (uint64_t)n * sizeof(uint32_t);
    order_link_newest(x);
    while (pg_A.order_bytes > PG_ORDER_BUDGET && pg_A.oldest != PG_NIL
           && &pg_A.ext[pg_A.oldest] != x)
        order_drop(&pg_A.ext[pg_A.oldest]);
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

/* Frees node i's ext record, if it has one, and what that record owns. */
static void ext_drop(uint32_t i)
{
    pg_ext *x = pg_ext_find(i);
    if (!x)
        return;
    if (x->listing)
        pg_pass_kept_forget();
    label_drop(x);
    order_drop(x);
    index_take(i);
    x->owner = PG_NIL;
    x->next_free = pg_A.ext_free;
    pg_A.ext_free = (uint32_t)(x - pg_A.ext);
    pg_A.ext_owned--;
    pg_A.nodes[i].flags &= (uint8_t)~PG_EXT;
}

int pg_retain(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (!pg_can_hold(i))
        return PG_EFULL;
    pg_A.side[i].refs++;
    pg_A.nodes[i].holds++;
    return PG_OK;
}

int pg_hold_all(const uint32_t *idx, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int s = pg_retain(idx[k]);
        if (s != PG_OK) {
            while (k > 0)
                pg_release(idx[--k]);
            return s;
        }
    }
    return PG_OK;
}

/* Arenas up to this many slots (12.6 MB with the log) are never shrunk, so
 * that a loop that builds and drops graphs of up to this size does not regrow
 * each time. (The fuzzer's build sets it lower to reach the shrinking paths.) */
#ifdef PG_TRIM_FLOOR
#define TRIM_FLOOR PG_TRIM_FLOOR
#else
#define TRIM_FLOOR (1u << 18)
#endif

/* Drops the stale entries at the end of the log, and the scope runs that
 * start among them: a derivative graph freed after use was made last, so
 * its entries go without compacting. Live entries keep their pos; a run left
 * with one entry gets step 0, as runs_add would have made it. */
static void pop_stale_entries(void)
{
    uint32_t q = pg_A.log_len;
    while (q > 0 && !entry_current(q - 1))
        q--;
    if (q == pg_A.log_len)
        return;
    pg_A.log_len = q;
    while (pg_A.nruns && pg_A.runs[pg_A.nruns - 1].pos >= q)
        pg_A.nruns--;
    if (pg_A.nruns && pg_A.runs[pg_A.nruns - 1].pos + 1 == q)
        pg_A.runs[pg_A.nruns - 1].step = 0;
    watch_runs();
}

/* Drops the stale entries at the log's end (pop_stale_entries); then shrinks
 * the creation log and its marks to what the live entries need, above
 * TRIM_FLOOR, once they need an eighth of it at most: a loop that builds and
 * drops a graph as large as the one that grew the log (a gradient graph each
 * step) then neither compacts nor regrows it each time. The marks are all 0
 * here (outside a pass), so a shorter block of them is still all 0. */
static void trim_log(void)
{
    pop_stale_entries();
    uint64_t live = pg_A.used - pg_A.nfree;
    if (8 * live > pg_A.log_cap || pow2_at_least(live, TRIM_FLOOR) >= pg_A.log_cap)
        return;
    if (log_compact() != PG_OK)
        return; /* the log stays as it is, which serves as well */
    uint64_t cap = pow2_at_least(pg_A.log_len, TRIM_FLOOR);
    if (cap >= pg_A.log_cap)
        return;
    /* a block that fails to shrink serves as well */
    uint32_t *log = realloc(pg_A.log, (size_t)cap * sizeof(uint32_t));
    if (log)
        pg_A.log = log;
    uint64_t *marks = realloc(pg_A.marks, (size_t)(cap / 64 + 1) * sizeof(uint64_t));
    if (marks)
        pg_A.marks = marks;
    pg_A.log_cap = (uint32_t)cap;
}

/* Drops free ext records off the top of the table, relinks the rest of the
 * free ones in index order and shrinks the table to fit, and ext_index with
 * it. Records in use keep their index, which ext_index and the kept-order
 * list hold. */
static void trim_ext(void)
{
    while (pg_A.ext_used > 0 && pg_A.ext[pg_A.ext_used - 1].owner == PG_NIL)
        pg_A.ext_used--;
    pg_A.ext_free = PG_NIL;
    for (uint32_t e = pg_A.ext_used; e-- > 0;) {
        if (pg_A.ext[e].owner == PG_NIL) {
            pg_A.ext[e].next_free = pg_A.ext_free;
            pg_A.ext_free = e;
        }
    }
    if (pg_A.ext_used == 0) {
        free(pg_A.ext);
        pg_A.ext = NULL;
        pg_A.ext_cap = 0;
        free(pg_A.ext_index);
        pg_A.ext_index = NULL;
        pg_A.index_cap = 0;
        return;
    }
    uint64_t index_cap = pow2_at_least((uint64_t)pg_A.ext_owned * 2 + 2, 64);
    if (index_cap < pg_A.index_cap)
        (void)index_remake(index_cap); /* on failure the larger one serves */
    uint64_t cap = pow2_at_least(pg_A.ext_used, 64);
    if (cap < pg_A.ext_cap) {
        pg_ext *ext = realloc(pg_A.ext, (size_t)cap * sizeof(pg_ext));
        if (ext)
            pg_A.ext = ext;
        pg_A.ext_cap = (uint32_t)cap;
    }
}

/* Tidies the arena after a large release: drops free slots off the top,
 * relinks the free list in index order, and above TRIM_FLOOR shrinks the block
 * to the next power of two that holds the slots in use; then does the same
 * for the creation log and the ext table. In index order, a graph built next
 * takes ascending slots in the order it is made, so that graph.c's passes,
 * which follow that order, read memory in address order. Indices of live
 * nodes do not change, so a live node in a high slot keeps every slot below
 * it allocated. Costs a scan of the slots in use down to the lowest free one
 * (none when every free slot was on top, as a derivative graph freed after
 * use leaves them), of the stale entries at the log's end (the whole log when
 * it is compacted) and of the ext records, paid for by the frees since the
 * last trim. */
static void trim(void)
{
    pg_node *nodes = pg_A.nodes;
    pg_A.freed_since_trim = 0;
    uint32_t top = pg_A.used;
    while (pg_A.used > 0 && nodes[pg_A.used - 1].op == PG_FREE)
        pg_A.used--;
    uint32_t below = pg_A.nfree - (top - pg_A.used); /* free slots left */
    pg_A.free_head = PG_NIL;
    pg_A.nfree = 0;
    for (uint32_t i = pg_A.used; below && i-- > 0;) {
        if (nodes[i].op == PG_FREE) {
            nodes[i].parent[0] = pg_A.free_head;
            pg_A.free_head = i;
            pg_A.nfree++;
            below--;
        }
    }
    /* A node made while a large graph lived sits above it; once the graph is
     * gone it may be alone in the upper half, holding every slot below. */
    pg_A.lone_top = PG_NIL;
    if (pg_A.used > TRIM_FLOOR) {
        uint32_t i = pg_A.used - 1;
        while (--i >= pg_A.used / 2 && nodes[i].op == PG_FREE)
            ;
        if (i < pg_A.used / 2)
            pg_A.lone_top = pg_A.used - 1;
    }
    uint64_t cap = pow2_at_least(pg_A.used, TRIM_FLOOR);
    if (cap < pg_A.cap) { /* a block that fails to shrink serves as well */
        pg_node *smaller = realloc(nodes, (size_t)cap * sizeof(pg_node));
        if (smaller)
            pg_A.nodes = smaller;
        void *block = realloc(pg_A.val_block, (size_t)cap * sizeof(pg_value) + STAGGER);
        if (block) {
            pg_A.val_block = block;
            pg_A.val = values_of(block);
        }
        pg_side *side = realloc(pg_A.side, (size_t)cap * sizeof(pg_side));
        if (side)
            pg_A.side = side;
        pg_A.cap = (uint32_t)cap;
        pg_pass_spares_free(); /* sized for passes over what is gone */
    }
    trim_log();
    trim_ext();
}

void pg_tidy(void)
{
    if (pg_A.freed_since_trim > pg_A.used / 8)
        trim();
}

int pg_release(uint32_t i)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (pg_A.nodes[i].holds == 0)
        return PG_EARG;
    pg_A.nodes[i].holds--;
    pg_unlink(i);
    return PG_OK;
}

void pg_unlink(uint32_t i)
{
    pg_node *nodes = pg_A.nodes;
    pg_side *side = pg_A.side;
    if (--side[i].refs)
        return;
    /* Nodes whose count reached zero wait on a pending list threaded through
     * refs; each one freed releases its parents, which may join the list. A
     * chain of any length is freed in this one loop, without recursion.
     * A node is fetched as it joins the list: the operands a derivative
     * graph's dot lets go are far apart, and on their way while it goes on. */
    uint32_t pending = i, freed = 0;
    side[i].refs = PG_NIL;
    while (pending != PG_NIL) {
        uint32_t j = pending;
        pg_node *n = &nodes[j];
        pending = side[j].refs;
        /* the links it holds: its operands, and PG_POWK's hidden leaf */
#define LET_GO(p)                                                         \
        if (--side[(p)].refs == 0) {                                      \
            side[(p)].refs = pending;                                     \
            pending = (p);                                                \
            __builtin_prefetch(&nodes[(p)]);                              \
        }
        if (pg_is_nary(n->op)) { /* none of these is PG_NIL */
            PG_EACH_OPERAND(n, p, LET_GO(p));
            pg_A.operand_bytes -= pg_block_bytes(n);
            free(n->operands);
        } else {
            if (n->parent[0] != PG_NIL)
                LET_GO(n->parent[0]);
            if (n->parent[1] != PG_NIL)
                LET_GO(n->parent[1]);
        }
#undef LET_GO
        ext_drop(j);
        pg_A.nhooked -= (n->flags & PG_HOOK) != 0;
        n->op = PG_FREE;
        n->parent[0] = pg_A.free_head;
        pg_A.free_head = j;
        pg_A.nfree++;
        freed++;
    }
    pg_A.freed_since_trim += freed;
    if (pg_A.freed_since_trim > pg_A.used / 2
        || (pg_A.lone_top != PG_NIL && nodes[pg_A.lone_top].op == PG_FREE))
        trim();
}

double pg_data(uint32_t i)
{
    return pg_live(i) ? pg_A.val[i].data : NAN;
}

double pg_grad(uint32_t i)
{
    return pg_live(i) ? pg_A.val[i].grad : NAN;
}

int pg_set_data(uint32_t i, double data)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_A.val[i].data = data;
    return PG_OK;
}

int pg_set_grad(uint32_t i, double grad)
{
    if (!pg_live(i))
        return PG_EINDEX;
    pg_A.val[i].grad = grad;
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
    return n->op == PG_POWK ? pg_A.val[n->parent[1]].data : 0.0;
}

int64_t pg_parent(uint32_t i, int64_t k)
{
    if (!pg_live(i))
        return PG_EINDEX;
    uint32_t count;
    const pg_node *n = &pg_A.nodes[i];
    const uint32_t *operands = pg_operands(n, &count);
    if (k < 0 || k >= count)
        return PG_EARG;
    return pg_operand(n, operands, count, (uint32_t)k);
}

int pg_set_label(uint32_t i, const char *s)
{
    if (!pg_live(i))
        return PG_EINDEX;
    if (!s || !*s) {
        pg_ext *x = pg_ext_find(i);
        if (x)
            label_drop(x);
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
    pg_ext *x = pg_live(i) ? pg_ext_find(i) : NULL;
    return x ? x->label : NULL;
}

int pg_set_data_many(const uint32_t *idx, const double *data, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!pg_live(idx[k]) || pg_A.nodes[idx[k]].op != PG_LEAF)
            return pg_live(idx[k]) ? PG_EARG : PG_EINDEX;
    for (size_t k = 0; k < n; k++)
        pg_A.val[idx[k]].data = data[k];
    return PG_OK;
}

void pg_get_stats(pg_stats *out)
{
    out->live_nodes = (uint64_t)pg_A.used - pg_A.nfree;
    out->capacity = pg_A.cap;
    out->bytes = (uint64_t)pg_A.cap * (sizeof(pg_node) + sizeof(pg_value) + sizeof(pg_side))
                 + (pg_A.val_block ? STAGGER : 0)
                 + (uint64_t)pg_A.log_cap * sizeof(uint32_t)
                 + (pg_A.log ? (uint64_t)(pg_A.log_cap / 64 + 1) * sizeof(uint64_t) : 0)
                 + (uint64_t)pg_A.ext_cap * sizeof(pg_ext)
                 + (uint64_t)pg_A.index_cap * sizeof(uint32_t)
                 + (uint64_t)pg_A.runs_cap * sizeof(pg_scope_run)
                 + pg_A.order_bytes + pg_A.label_bytes + pg_A.operand_bytes
                 + pg_pass_spares_bytes();
    out->cached_orders = pg_A.norders;
    out->order_bytes = pg_A.order_bytes;
    out->operand_bytes = pg_A.operand_bytes;
}

uint64_t pg_made(void)
{
    return pg_A.made;
}

uint32_t pg_scope_set(uint32_t s)
{
    return pg_scope_switch(s);
}

int64_t pg_holds(uint32_t i)
{
    return pg_live(i) ? pg_A.nodes[i].holds : PG_EINDEX;
}

uint32_t pg_scope_get(void)
{
    return pg_scope_now;
}

int64_t pg_scope_of(uint32_t i)
{
    return pg_live(i) ? (int64_t)scope_at(pg_A.nodes[i].pos) : PG_EINDEX;
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
