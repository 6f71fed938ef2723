/* rules.h: every operation's rules, one row each: its forward value and the
 * gradient it passes back to each operand. Building a node (ops.c), replay
 * and backpropagation (graph.c) all apply these and nothing else. Numbers
 * follow IEEE float64 throughout: log(0) is -inf, 1/0 is inf, log(-1) is
 * nan, and nothing traps. */
#ifndef PYGRAD_RULES_H
#define PYGRAD_RULES_H

#include <math.h>

#include "arena.h"

/* The rules are applied once per node in tight loops: inline them always. */
#if defined(__GNUC__)
#define PG_HOT static inline __attribute__((always_inline))
#else
#define PG_HOT static inline
#endif
/* The n-ary rules loop over their operands: kept out of line, so that the
 * passes' loops, which inline the one- and two-operand rules, keep their
 * registers for those. */
#if defined(__GNUC__)
#define PG_COLD static __attribute__((noinline, unused))
#else
#define PG_COLD static
#endif

static inline double sgn(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x;
}

/* The rules. In each row: the op; its value `out` from the operands x, y (or
 * x and PG_POWK's exponent k); and the contribution to each operand's gradient
 * from g, the gradient of out. Edge cases follow PyTorch: relu passes the
 * gradient where out > 0; x ** 0 has gradient 0; d(x ** y)/dy is 0 where
 * x == 0 and y >= 0.
 *
 * The gradient columns are written in operations (ADD, MUL, MASK, K for a
 * constant, ZERO for none ...), not C operators, because they are read twice:
 * over doubles by the passes below (FLOAT_CALCULUS: plain arithmetic, the
 * same operations in the same order as written), and over nodes by grad.c,
 * which builds each contribution as a graph that can be differentiated in
 * turn. A condition on data is an op too, so that such a graph replays:
 * MASK(c, a) is 0 where c <= 0, else a. The last three binary rows are
 * internal ops that those graphs use: MASK, and TANHB(g, out) and SIGB(g,
 * out), tanh's and sigmoid's whole contributions as one node each, whose
 * values are the float columns' to the bit. */
#define PG_BINARY_RULES(R)                                                       \
    /* op       out =              d/dx:                    d/dy:             */ \
    R(PG_ADD,   x + y,             g,                       g)                   \
    R(PG_SUB,   x - y,             g,                       NEG(g))              \
    R(PG_MUL,   x * y,             MUL(g, y),               MUL(g, x))           \
    R(PG_DIV,   x / y,             DIV(g, y),               DIV(MUL(NEG(g), out), y)) \
    R(PG_POW,   pow(x, y),         MASK(ABS(y), MUL(MUL(g, y), POW(x, SUB(y, K(1.0))))), \
                                   MASK(ADD(ABS(x), RELU(NEG(y))), MUL(MUL(g, out), LOG(x)))) \
    R(PG_MASK,  x <= 0 ? 0.0 : y,  ZERO,                    MASK(x, g))              \
    R(PG_TANH_BACK,    x * (1.0 - y * y),   TANHB(g, y),   MUL(MUL(g, x), MUL(K(-2.0), y))) \
    R(PG_SIGMOID_BACK, x * y * (1.0 - y),   SIGB(g, y),    MUL(MUL(g, x), SUB(K(1.0), MUL(K(2.0), y))))

#define PG_UNARY_RULES(R)                                                        \
    /* op          out =                  d/dx:                             */   \
    R(PG_POWK,     pow(x, k),             k == 0 ? ZERO : MUL(MUL(g, K(k)), POWK(x, k - 1))) \
    R(PG_NEG,      -x,                    NEG(g))                                \
    R(PG_RELU,     x <= 0 ? 0.0 : x,      MASK(out, g))                          \
    R(PG_TANH,     tanh(x),               TANHB(g, out))                         \
    R(PG_SIGMOID,  1 / (1 + exp(-x)),     SIGB(g, out))                          \
    R(PG_EXP,      exp(x),                MUL(g, out))                           \
    R(PG_LOG,      log(x),                DIV(g, x))                             \
    R(PG_SQRT,     sqrt(x),               DIV(g, MUL(K(2.0), out)))              \
    R(PG_ABS,      fabs(x),               MUL(g, SIGN(x)))                       \
    R(PG_SIN,      sin(x),                MUL(g, COS(x)))                        \
    R(PG_COS,      cos(x),                MUL(NEG(g), SIN(x)))                   \
    R(PG_SIGN,     sgn(x),                ZERO)

/* The n-ary ops' contributions, in the same operations: to a sum's every
 * operand; to a dot's weight from its input and to its input from its
 * weight (`other`), and to its bias; to logsumexp's operand v. */
#define PG_SUM_GRAD(g)                 g
#define PG_DOT_GRAD(g, other)          MUL(g, other)
#define PG_DOT_BIAS_GRAD(g)            g
#define PG_LOGSUMEXP_GRAD(g, v, out)   MUL(g, EXP(SUB(v, out)))

/* The operations over doubles, for the passes below (undefined again at the
 * end of this file): the arithmetic the gradient columns name. */
#define ADD(a, b)   ((a) + (b))
#define SUB(a, b)   ((a) - (b))
#define MUL(a, b)   ((a) * (b))
#define DIV(a, b)   ((a) / (b))
#define NEG(a)      (-(a))
#define POW(a, b)   pow(a, b)
#define POWK(a, k)  pow(a, k)
#define LOG(a)      log(a)
#define EXP(a)      exp(a)
#define SIN(a)      sin(a)
#define COS(a)      cos(a)
#define ABS(a)      fabs(a)
#define SIGN(a)     sgn(a)
#define RELU(a)     relu(a)
#define MASK(c, a)  ((c) <= 0 ? 0.0 : (a))
#define TANHB(a, y) ((a) * (1.0 - (y) * (y)))
#define SIGB(a, y)  ((a) * (y) * (1.0 - (y)))
#define K(c)        (c)
#define ZERO        0.0

static inline double relu(double x)
{
    return x <= 0 ? 0.0 : x;
}

/* The n-ary rules, over the operands' data v[0] .. v[n-1]:
 *
 *   op            out =                                     d/dv[j]:
 *   PG_SUM        v[0] + v[1] + ... + v[n-1]                g
 *   PG_DOT        b + v[0]*v[1] + v[2]*v[3] + ...           g * v[j ^ 1]; the bias b: g
 *   PG_LOGSUMEXP  m + log(exp(v[0] - m) + ...)              g * exp(v[j] - out)
 *
 * Sums are taken left to right: PG_DOT's from its bias (v[n-1] when n is odd;
 * with no bias, from the first product), as micrograd's neuron adds
 * b + w0*x0 + w1*x1 ... one term at a time, so the two agree to the bit.
 * PG_LOGSUMEXP subtracts m, the largest v[j], so that no exp overflows; out
 * is m itself where m is infinite, and NaN where any v[j] is.
 *
 * A PG_DOT node with PG_RUNS (arena.h) has its weights and inputs at two runs
 * of consecutive indices: the same rules then read and write them as plain
 * arrays, with the same terms added in the same order. One with PG_STRIDED
 * has them evenly spaced: the rules count its indices up. */


/* An n-ary node's value from its operands. */
PG_COLD double nary_forward(const pg_value *val, const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    double out;
    switch (n->op) {
    case PG_SUM:
        out = val[v[0]].data;
        for (uint32_t j = 1; j < count; j++)
            out += val[v[j]].data;
        return out;
    case PG_DOT: {
        uint32_t j = 0, pairs = count / 2;
        if (count & 1) {
            out = val[pg_operand(n, v, count, count - 1)].data; /* the bias */
        } else {
            out = val[v[0]].data * val[v[1]].data;
            j = 1;
        }
        if (n->flags & PG_RUNS) {
            const pg_value *w = val + v[0], *x = val + v[1];
            for (; j < pairs; j++)
                out += w[j].data * x[j].data;
        } else if (n->flags & PG_STRIDED) {
            for (; j < pairs; j++)
                out += val[v[0] + j * v[3]].data * val[v[1] + j * v[4]].data;
        } else {
            for (; j < pairs; j++)
                out += val[v[2 * j]].data * val[v[2 * j + 1]].data;
        }
        return out;
    }
    default: { /* PG_LOGSUMEXP */
        double m = -INFINITY, sum = 0.0;
        for (uint32_t j = 0; j < count; j++) {
            double x = val[v[j]].data;
            if (isnan(x))
                return NAN;
            if (x > m)
                m = x;
        }
        if (isinf(m))
            return m;
        for (uint32_t j = 0; j < count; j++)
            sum += exp(val[v[j]].data - m);
        return m + log(sum);
    }
    }
}

/* Adds an n-ary node's contributions, from its gradient g and value out, to
 * its operands' gradients. */
PG_COLD void nary_backward(pg_value *val, const pg_node *n, double g, double out)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    switch (n->op) {
    case PG_SUM:
        for (uint32_t j = 0; j < count; j++)
            val[v[j]].grad += PG_SUM_GRAD(g);
        break;
    case PG_DOT:
        if (n->flags & PG_RUNS) {
            /* Each operand gets its terms in the order of the loops below:
             * the runs do not overlap, or are one run whose every entry gets
             * its weight's term before its input's. */
            pg_value *w = val + v[0], *x = val + v[1];
            for (uint32_t j = 0; j < count / 2; j++)
                w[j].grad += PG_DOT_GRAD(g, x[j].data);
            for (uint32_t j = 0; j < count / 2; j++)
                x[j].grad += PG_DOT_GRAD(g, w[j].data);
        } else if (n->flags & PG_STRIDED) {
            uint32_t a = v[0], b = v[1];
            for (uint32_t j = 0; j < count / 2; j++, a += v[3], b += v[4]) {
                double wd = val[a].data, xd = val[b].data;
                val[a].grad += PG_DOT_GRAD(g, xd);
                val[b].grad += PG_DOT_GRAD(g, wd);
            }
        } else {
            for (uint32_t j = 0; j + 1 < count; j += 2) {
                double wd = val[v[j]].data, xd = val[v[j + 1]].data;
                val[v[j]].grad += PG_DOT_GRAD(g, xd);
                val[v[j + 1]].grad += PG_DOT_GRAD(g, wd);
            }
        }
        if (count & 1)
            val[pg_operand(n, v, count, count - 1)].grad += PG_DOT_BIAS_GRAD(g);
        break;
    default: /* PG_LOGSUMEXP */
        for (uint32_t j = 0; j < count; j++)
            val[v[j]].grad += PG_LOGSUMEXP_GRAD(g, val[v[j]].data, out);
    }
}

/* The values of four PG_RUNS dot nodes a layer made side by side: each the
 * same sum, in the same order, as nary_forward's, the four taken together so
 * that their chains of additions overlap (one chain waits on each addition;
 * four keep the adder busy). The four have one count and one run of inputs,
 * and none is an operand of another (rows_of_a_layer in graph.c). */
PG_COLD void dot4_forward(pg_value *val, const uint32_t *idx, const pg_node *nodes)
{
    const uint32_t *v[4];
    const pg_value *w[4];
    double s[4];
    uint32_t count = 0;
    for (int k = 0; k < 4; k++) {
        v[k] = pg_operands(&nodes[idx[k]], &count);
        w[k] = val + v[k][0];
    }
    const pg_value *x = val + v[0][1];
    uint32_t j = 0, pairs = count / 2;
    for (int k = 0; k < 4; k++)
        s[k] = count & 1 ? val[v[k][2]].data : w[k][0].data * x[0].data;
    j = count & 1 ? 0 : 1;
    double s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    for (; j < pairs; j++) {
        double xj = x[j].data;
        s0 += w[0][j].data * xj;
        s1 += w[1][j].data * xj;
        s2 += w[2][j].data * xj;
        s3 += w[3][j].data * xj;
    }
    val[idx[0]].data = s0;
    val[idx[1]].data = s1;
    val[idx[2]].data = s2;
    val[idx[3]].data = s3;
}

/* PG_POWK's exponent, held by its hidden second parent. */
PG_HOT double exponent(const pg_value *val, const pg_node *n)
{
    return val[n->parent[1]].data;
}

/* A node's value from its operands' data: the rules' `out =` column. */
PG_HOT double forward_rule(const pg_value *val, const pg_node *n)
{
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        double x = val[n->parent[0]].data;         \
        double y = val[n->parent[1]].data;         \
        return OUT;                                \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        double x = val[n->parent[0]].data;         \
        double k = OP == PG_POWK ? exponent(val, n) : 0.0; \
        (void)k;                                   \
        return OUT;                                \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        return nary_forward(val, n);
    }
}

/* Adds the contributions of node i (its structure n) to its operands'
 * gradients: the d/dx, d/dy columns. Not for a leaf. */
PG_HOT void backward_rule(pg_value *val, const pg_node *n, uint32_t i)
{
    double g = val[i].grad, out = val[i].data;
    (void)out;
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        pg_value *px = &val[n->parent[0]];         \
        pg_value *py = &val[n->parent[1]];         \
        double x = px->data, y = py->data;         \
        (void)x;                                   \
        (void)y;                                   \
        px->grad += DX;                            \
        py->grad += DY;                            \
        break;                                     \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        pg_value *px = &val[n->parent[0]];         \
        double x = px->data;                       \
        double k = OP == PG_POWK ? exponent(val, n) : 0.0; \
        (void)x;                                   \
        (void)k;                                   \
        px->grad += DX;                            \
        break;                                     \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        nary_backward(val, n, g, out);
        break;
    }
}

/* Node i's local derivatives, d i / d operand, one per operand in order
 * (none for a leaf; PG_POWK's hidden exponent is not an operand): the same
 * columns read with g = 1, for the teaching tools. Writes at most max. */
PG_COLD void local_rule(const pg_value *val, const pg_node *n, uint32_t i, double *d,
                        uint32_t max)
{
    const double g = 1.0, out = val[i].data;
    (void)out;
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        double x = val[n->parent[0]].data;         \
        double y = val[n->parent[1]].data;         \
        (void)x;                                   \
        (void)y;                                   \
        if (max > 0)                               \
            d[0] = DX;                             \
        if (max > 1)                               \
            d[1] = DY;                             \
        return;                                    \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        double x = val[n->parent[0]].data;         \
        double k = OP == PG_POWK ? exponent(val, n) : 0.0; \
        (void)x;                                   \
        (void)k;                                   \
        if (max > 0)                               \
            d[0] = DX;                             \
        return;                                    \
    }
        PG_UNARY_RULES(R)
#undef R
    case PG_LEAF:
        return;
    default: {
        uint32_t count;
        const uint32_t *v = pg_operands(n, &count);
        for (uint32_t j = 0; j < count && j < max; j++) {
            if (n->op == PG_SUM)
                d[j] = PG_SUM_GRAD(g);
            else if (n->op == PG_LOGSUMEXP)
                d[j] = PG_LOGSUMEXP_GRAD(g, val[v[j]].data, out);
            else if ((count & 1) && j == count - 1)
                d[j] = PG_DOT_BIAS_GRAD(g);
            else
                d[j] = PG_DOT_GRAD(g, val[pg_operand(n, v, count, j ^ 1)].data);
        }
    }
    }
}

#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef NEG
#undef POW
#undef POWK
#undef LOG
#undef EXP
#undef SIN
#undef COS
#undef ABS
#undef SIGN
#undef RELU
#undef MASK
#undef TANHB
#undef SIGB
#undef K
#undef ZERO

#endif /* PYGRAD_RULES_H */
