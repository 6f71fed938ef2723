/* pygrad.h: the whole C API of pygrad's core.
 *
 * One process-wide arena holds every node of every graph. A node is named by a
 * uint32_t index into the arena; an index stays valid while the node is live,
 * across any growth of the arena (pointers into it do not). Once a node is
 * freed its index may be handed to a new node, so an index held past the last
 * reference names something else.
 *
 * Ownership: a node lives while its reference count is above zero. Each
 * handle held outside the arena (a Python Value, an optimizer) owns one
 * reference, a hold, and each child node owns one per parent link (a*a owns
 * two of a). The core counts holds apart, and gives back only holds on
 * request, so a caller's mistake (a release too many, a wrong index) cannot
 * free a node a live node still names. When the count reaches zero the node is
 * freed and its parents released, iteratively.
 *
 * Errors: functions return PG_OK (0) or a negative pg_status; those returning
 * int64_t return a non-negative result (a node index, a count) on success.
 * A failed call changes nothing. Nothing here aborts.
 *
 * Threads: the arena is not locked. Callers serialise calls into it; pygrad's
 * Python facade does so by keeping the GIL held during every call.
 *
 * build_ffi.py hands this file to cffi's cdef with its preprocessor lines
 * removed, so each declaration below exists once and is documented here.
 */
#ifndef PYGRAD_H
#define PYGRAD_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 for success, negative for failure. */
enum pg_status {
    PG_OK = 0,
    PG_ENOMEM = -1, /* an allocation failed; every existing node is intact */
    PG_EFULL = -2,  /* the arena holds as many nodes as its index can name */
    PG_EINDEX = -3, /* an index does not name a live node */
    PG_EARG = -4,   /* an op code or another argument is out of range */
    PG_EINTR = -5   /* an interruption put off by pg_defer_interrupt */
};

/* Operation codes. Binary ops have two parents, unary ops one, n-ary ops
 * any number from 1, leaves none. Each op's forward and backward rules live
 * side by side in rules.h. PG_MASK, PG_SIGN and the two _BACK ops are what
 * the graphs of derivatives (pg_pass_new with PG_PASS_CREATE) need beyond
 * the others: the gradient of relu is MASK(out, g), that of abs g * SIGN(x),
 * that of tanh one node TANH_BACK(g, out) = g * (1 - out * out), where
 * three ops would make three nodes (as PyTorch's tanh_backward). */
enum pg_op {
    PG_LEAF = 0,
    PG_ADD, PG_SUB, PG_MUL, PG_DIV, PG_POW,           /* binary: x op y */
    PG_MASK,                                          /* x <= 0 ? 0 : y */
    PG_TANH_BACK, PG_SIGMOID_BACK,                    /* x * (1 - y*y), x * y * (1 - y) */
    PG_POWK,                                          /* x ** k, k in a hidden leaf */
    PG_NEG, PG_RELU, PG_TANH, PG_SIGMOID, PG_EXP,     /* unary */
    PG_LOG, PG_SQRT, PG_ABS, PG_SIN, PG_COS,
    PG_SIGN,                                          /* -1, 0 or 1; NaN for NaN */
    PG_SUM, PG_DOT, PG_LOGSUMEXP,                     /* n-ary */
    PG_NOPS
};

/* Arena figures for tests and benchmarks. */
typedef struct pg_stats {
    uint64_t live_nodes;    /* nodes with a reference count above zero */
    uint64_t capacity;      /* node slots allocated */
    uint64_t bytes;         /* heap bytes held by the arena, all tables included,
                               and the blocks kept from the last pass (grad.c) */
    uint64_t cached_orders; /* roots whose topological order is kept */
    uint64_t order_bytes;   /* bytes of those kept orders */
    uint64_t operand_bytes; /* bytes of the n-ary nodes' operand blocks */
} pg_stats;

/* ---- Building nodes: each returns the new node's index, or a negative
 * status. The caller owns one reference to the result. While the calling
 * thread's grad mode is off (pg_grad_mode), the result is a leaf holding the
 * computed value and the operands are not referenced. */

/* A leaf holding data. */
int64_t pg_leaf(double data);
/* op(x) for a unary op (PG_NEG .. PG_SIGN); PG_EARG for any other. */
int64_t pg_unary(uint8_t op, uint32_t x);
/* x ** k for a constant exponent k. */
int64_t pg_powk(uint32_t x, double k);
/* x op y for a binary op (PG_ADD .. PG_SIGMOID_BACK). */
int64_t pg_binary(uint8_t op, uint32_t x, uint32_t y);
/* x op k (k_left == 0) or k op x (k_left != 0): the number k becomes a new
 * leaf operand, as if it had been wrapped in a Value first. */
int64_t pg_binary_k(uint8_t op, uint32_t x, double k, int k_left);
/* An n-ary op (PG_SUM, PG_DOT, PG_LOGSUMEXP) over n operands: operand j is
 * node idx[j], or where idx[j] is UINT32_MAX a new leaf holding k[j] (k may be
 * NULL when no idx[j] is). PG_DOT's operands are w0, x0, w1, x1, ... and, when
 * n is odd, the bias last. n is at least 1 (PG_EARG otherwise), at most
 * UINT32_MAX - 1; an index may repeat. */
int64_t pg_nary(uint8_t op, const uint32_t *idx, const double *k, size_t n);

/* A dense layer, nout neurons over the same nin inputs, in one call: neuron
 * j is act(dot(w[j*nin .. j*nin + nin-1], x, b[j])), its dot a PG_DOT node
 * over w[j*nin], x[0], w[j*nin + 1], x[1], ... and b[j] last (no bias when b
 * is NULL), and act a unary op (PG_NEG .. PG_SIGN) or PG_LEAF for none. Input
 * i is node x[i], or where x[i] is UINT32_MAX one new leaf holding xk[i]
 * that every neuron shares (xk may be NULL when no x[i] is). Weights and
 * biases are nodes. Fills out[0 .. nout-1] with the neurons' results, each
 * with one hold for the caller. The nodes are made inputs first, then the
 * dots, then the activations, so the results lie in consecutive slots when
 * those are free. When scopes is not NULL, neuron j's dot and activation are
 * made in scope scopes[j] (pg_scope_set); the inputs' leaves, and all nodes
 * when scopes is NULL, in the caller's scope.
 * Returns PG_OK, or fails having made nothing. */
int64_t pg_dense(const uint32_t *w, const uint32_t *b, const uint32_t *x, const double *xk,
                 size_t nin, size_t nout, uint8_t act, const uint32_t *scopes,
                 uint32_t *out);
/* n leaves (1 <= n < UINT32_MAX) holding data[0 .. n-1], at n consecutive
 * indices past every slot in use (a model's weights, made this way, are read
 * as plain arrays by dot and by the optimizers). Returns the first index;
 * the caller owns one hold on each. */
int64_t pg_leaves(const double *data, size_t n);

/* ---- References. A reference held from outside the arena is a hold; a node
 * has at most 65,535 at once (PG_EFULL past that). */

/* Takes one more hold on node i. */
int pg_retain(uint32_t i);
/* Gives back one hold on node i; once no hold and no child link is left,
 * frees it and releases its parents. PG_EARG, changing nothing, when node i
 * has no hold to give back: a wrong index can then never free a node that a
 * live node still names. */
int pg_release(uint32_t i);
/* The holds on node i (0 means no Value names it), or PG_EINDEX. */
int64_t pg_holds(uint32_t i);

/* ---- Reading and writing nodes. Getters return NaN (pg_data, pg_grad,
 * pg_const), a negative status (pg_op, pg_parent) or NULL (pg_label) when i
 * does not name a live node. */

double pg_data(uint32_t i);
double pg_grad(uint32_t i);
int pg_set_data(uint32_t i, double data);
int pg_set_grad(uint32_t i, double grad);
/* The node's pg_op code. */
int pg_op(uint32_t i);
/* The constant of a PG_POWK node (its exponent); 0 for other ops. */
double pg_const(uint32_t i);
/* Operand number k of node i (0 or 1 for unary and binary ops, any below
 * the count for n-ary ones), or PG_EARG where the op has fewer. */
int64_t pg_parent(uint32_t i, int64_t k);
/* Copies s (UTF-8, NUL-terminated) as node i's label; NULL or "" clears it. */
int pg_set_label(uint32_t i, const char *s);
/* Node i's label, owned by the arena and valid until the label changes or
 * the node is freed; NULL when it has none. */
const char *pg_label(uint32_t i);
/* Sets data[k] on leaves idx[k], for k < n. Checks every index first and
 * changes nothing unless all name live leaves. */
int pg_set_data_many(const uint32_t *idx, const double *data, size_t n);

/* ---- Graphs. */

/* Root and the non-leaf nodes it depends on, in reverse order of creation:
 * root first and every node before its operands. Leaves are left out: no pass
 * over the order needs them; they are the operands the listed nodes name. The
 * order is kept with the root and reused, while the kept orders of all roots
 * fit a budget of 8 MiB: past it the least recently used are dropped (and
 * listed again when next asked for). *out points into the kept copy, valid
 * until the next call of pg_order or pg_forward or the root is freed. Returns
 * the number of nodes listed. */
int64_t pg_order(uint32_t root, const uint32_t **out);
/* The first nodes of root's order, at most max (>= 1) of them, into out,
 * which has room for max: the same nodes pg_order lists first, in the same
 * order, found with work in proportion to max rather than to the graph.
 * *more is set to 1 when the order goes on past them, else 0. Keeps nothing,
 * allocates nothing. Returns the number listed. */
int64_t pg_nearest(uint32_t root, uint32_t *out, uint32_t max, int *more);
/* Reverse-mode pass from root: grads of the non-leaf nodes under root are
 * reset to 0, root's grad gets seed added, and every node's grad then gets
 * the sum of its contributions, added in reverse order of creation. Leaves
 * accumulate across calls. Allocates nothing: fails only on a bad index. */
int pg_backward(uint32_t root, double seed);
/* One step of a reverse pass by hand: adds node i's grad times each of its
 * local derivatives to its operands' grads (micrograd's `_backward`). A
 * leaf's does nothing. */
int pg_backward_node(uint32_t i);
/* Node i's local derivatives (d i / d operand, from its rule with a gradient
 * of 1), one per operand in order, into out: at most max written. Returns
 * the number of operands (0 for a leaf). */
int64_t pg_local_grads(uint32_t i, double *out, size_t max);
/* Replay: recomputes the data of every non-leaf node under root, parents
 * first, from the leaves' current data with the same rules as building. */
int pg_forward(uint32_t root);

/* ---- Passes with hooks and gradients as new nodes. A pass object runs a
 * reverse pass from several outputs at once, stopping wherever a node
 * carries a hook, so that the caller can read and replace that node's
 * gradient before it is passed on. Its list of nodes is every node under the
 * outputs, leaves included, in reverse order of creation (the order
 * pg_backward follows; PG_POWK's hidden exponent is not under anything). */

typedef struct pg_pass pg_pass;

/* What a pass does with the gradients it computes. */
enum pg_pass_mode {
    PG_PASS_BACKWARD = 0, /* as pg_backward, in place in every node's grad:
                             non-leaf nodes under the outputs get the
                             gradients of this pass, leaves add them */
    PG_PASS_GRAD = 1,     /* into the results only: every grad is as it was
                             once the pass is freed */
    PG_PASS_CREATE = 2    /* into the results as nodes of a new graph built
                             from the rules' gradient columns (rules.h), which
                             can be differentiated again; no grad changes */
};

/* Sets (on != 0) or clears node i's hook flag, at which passes stop; returns
 * the previous setting (0 or 1). A node's flag goes with it when it is
 * freed. */
int pg_hook(uint32_t i, int on);
/* A pass over outs[0 .. nout-1] (nout >= 1, an index may repeat), each
 * seeded with seeds[k], computing the gradient of sum_k seeds[k] * outs[k]
 * with respect to ins[0 .. nin-1] (nin may be 0). The pass holds every
 * output and input until freed. Nothing runs yet. */
int pg_pass_new(const uint32_t *outs, const double *seeds, size_t nout,
                const uint32_t *ins, size_t nin, int mode, pg_pass **out);
/* Runs the pass on: returns the index of the next node with a hook, whose
 * gradient is then complete and not yet passed on (a leaf's, in
 * PG_PASS_BACKWARD, is this pass's alone, not yet added to what it held), or
 * PG_NIL (UINT32_MAX) when the pass is done. A failure (PG_ENOMEM or
 * PG_EFULL while building, in PG_PASS_CREATE) ends the pass. */
int64_t pg_pass_run(pg_pass *p);
/* The gradient of the node where the pass stopped (0 where, creating, it
 * has none yet), or NaN when it is not stopped. */
double pg_pass_grad(const pg_pass *p);
/* Replaces that gradient (creating: with a new leaf, through which nothing
 * flows back); PG_EARG when the pass is not stopped. */
int pg_pass_set_grad(pg_pass *p, double grad);
/* Once the pass is done: result[j] is a new node holding the gradient with
 * respect to ins[j] (a leaf, or with PG_PASS_CREATE the root of its graph),
 * with one hold for the caller, or PG_NIL where ins[j] is under no output.
 * PG_EARG before the pass is done or in PG_PASS_BACKWARD. Fails having made
 * nothing. */
int pg_pass_results(pg_pass *p, uint32_t *result);
/* Ends the pass whether done or not: puts back every grad it promised to
 * leave (PG_PASS_GRAD), adds to each hooked leaf what it held before
 * (PG_PASS_BACKWARD), frees the nodes it made and did not hand out, and
 * releases the outputs and inputs. */
void pg_pass_free(pg_pass *p);
/* Nonzero while the listing of a PG_PASS_CREATE pass from the one output out
 * that ran to its end is kept, so that the next such pass from out to the
 * same inputs lists nothing. One is kept at a time; it goes when out is
 * freed. */
int pg_pass_kept(uint32_t out);
/* How many records a PG_PASS_CREATE pass that has begun keeps for its run
 * groups: one for each dense row that passes its gradient on to a run of
 * nodes (a row's weights, one example's inputs to a layer) whose every term
 * comes from such rows, in place of a term for each node of the run. -1
 * for any other pass. */
int64_t pg_pass_records(const pg_pass *p);

/* ---- Optimizers: state held in C, one call per step over all parameters,
 * with PyTorch's update rules. An optimizer holds a reference to each of its
 * parameters until pg_optim_free. */

typedef struct pg_optim pg_optim;

/* A new optimizer over the n nodes params (no index twice) into *out. It
 * takes a hold on each as given, so an index given twice takes two; PG_EFULL,
 * having taken none, when a node cannot take them all. */
int pg_optim_new(const uint32_t *params, size_t n, pg_optim **out);
/* Releases the parameters and frees o. */
void pg_optim_free(pg_optim *o);
/* Sets every parameter's grad to 0. */
void pg_optim_zero_grad(pg_optim *o);
/* SGD: g = grad + weight_decay * p; with momentum, buf = g on the first
 * step and momentum * buf + g after, and g = buf; then p -= lr * g. */
void pg_sgd_step(pg_optim *o, double lr, double momentum, double weight_decay);
/* Adam (L2 weight decay, bias-corrected, eps added after the square root):
 * g = grad + weight_decay * p; m += (1 - beta1) * (g - m);
 * v = beta2 * v + (1 - beta2) * g * g; t += 1;
 * p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). */
void pg_adam_step(pg_optim *o, double lr, double beta1, double beta2, double eps,
                  double weight_decay);

/* ---- Modes and figures. */

/* Sets whether the calling thread records graphs (enabled != 0) and returns
 * the previous setting. Each thread starts enabled. */
int pg_grad_mode(int enabled);
/* Puts off an interruption that arrived in the calling thread: that thread's
 * next call that would make a node (pg_leaf, pg_unary, pg_powk, pg_binary,
 * pg_binary_k, pg_nary, pg_dense, pg_leaves) makes none and returns PG_EINTR
 * instead, once. */
void pg_defer_interrupt(void);
/* Takes back an interruption put off and not yet returned: 1 if there was
 * one (no call will return PG_EINTR for it now), else 0. From any thread. */
int pg_take_interrupt(void);

/* Fills *out with the arena's figures. */
void pg_get_stats(pg_stats *out);
/* How many nodes have been made since the process began: it changes exactly
 * when a node is made, so the facade can tell that none has been since it
 * last looked. */
uint64_t pg_made(void);

/* ---- Scopes: a number the facade gives each scope a thread is in (0: none),
 * recorded for every node the thread makes, at no cost in bytes per node. */

/* Sets the calling thread's scope for the nodes it makes from now on, and
 * returns the one it replaces. */
uint32_t pg_scope_set(uint32_t s);
/* The calling thread's scope. */
uint32_t pg_scope_get(void);
/* The scope node i was made in, or PG_EINDEX. */
int64_t pg_scope_of(uint32_t i);
/* How this core was compiled: "release", or the sanitizers built in, such as
 * "address,undefined". Read from the compiler's own macros, so a test run can
 * refuse a core that is not instrumented as it expects. */
const char *pg_build(void);

/* ---- Testing hooks. */

/* Makes the n-th allocation from now fail (n == 0: none fails). */
void pg_test_fail_alloc(uint32_t n);
/* Caps the number of node slots (0 restores the 32-bit index limit), so that
 * the PG_EFULL path can be reached without billions of nodes. */
void pg_test_node_limit(uint32_t n);

#endif /* PYGRAD_H */
