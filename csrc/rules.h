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

static inline double sgn(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x;
}

/* The rules. In each row: the op; its value `out` from the operands x, y (or
 * x and PG_POWK's exponent k); and the contribution to each operand's gradient from
 * g, the gradient of out. Edge cases follow PyTorch: relu passes the gradient
 * where out > 0; x ** 0 has gradient 0; d(x ** y)/dy is 0 where x == 0 and
 * y >= 0. */
#define PG_BINARY_RULES(R)                                                       \
    /* op         out =           d/dx:                         d/dy:         */ \
    R(PG_ADD,     x + y,          g,                            g)               \
    R(PG_SUB,     x - y,          g,                            -g)              \
    R(PG_MUL,     x * y,          g * y,                        g * x)           \
    R(PG_DIV,     x / y,          g / y,                        -g * out / y)    \
    R(PG_POW,     pow(x, y),      y == 0 ? 0.0 : g * y * pow(x, y - 1),          \
                                  x == 0 && y >= 0 ? 0.0 : g * out * log(x))

#define PG_UNARY_RULES(R)                                                        \
    /* op         out =                     d/dx:                           */   \
    R(PG_POWK,    pow(x, k),                k == 0 ? 0.0 : g * k * pow(x, k - 1)) \
    R(PG_NEG,     -x,                       -g)                                  \
    R(PG_RELU,    x <= 0 ? 0.0 : x,         out <= 0 ? 0.0 : g)                  \
    R(PG_TANH,    tanh(x),                  g * (1 - out * out))                 \
    R(PG_SIGMOID, 1 / (1 + exp(-x)),        g * out * (1 - out))                 \
    R(PG_EXP,     exp(x),                   g * out)                             \
    R(PG_LOG,     log(x),                   g / x)                               \
    R(PG_SQRT,    sqrt(x),                  g / (2 * out))                       \
    R(PG_ABS,     fabs(x),                  g * sgn(x))                          \
    R(PG_SIN,     sin(x),                   g * cos(x))                          \
    R(PG_COS,     cos(x),                   -g * sin(x))

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
 * is m itself where m is infinite, and NaN where any v[j] is. */
static inline double nary_forward(const pg_node *nodes, const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    double out;
    switch (n->op) {
    case PG_SUM:
        out = nodes[v[0]].data;
        for (uint32_t j = 1; j < count; j++)
            out += nodes[v[j]].data;
        return out;
    case PG_DOT: {
        uint32_t j = 0, pairs = count / 2;
        if (count & 1) {
            out = nodes[v[count - 1]].data;
        } else {
            out = nodes[v[0]].data * nodes[v[1]].data;
            j = 1;
        }
        for (; j < pairs; j++)
            out += nodes[v[2 * j]].data * nodes[v[2 * j + 1]].data;
        return out;
    }
    default: { /* PG_LOGSUMEXP */
        double m = -INFINITY, sum = 0.0;
        for (uint32_t j = 0; j < count; j++) {
            double x = nodes[v[j]].data;
            if (isnan(x))
                return NAN;
            if (x > m)
                m = x;
        }
        if (isinf(m))
            return m;
        for (uint32_t j = 0; j < count; j++)
            sum += exp(nodes[v[j]].data - m);
        return m + log(sum);
    }
    }
}

/* Adds an n-ary node's contributions to its operands' gradients. */
static inline void nary_backward(pg_node *nodes, const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    double g = n->grad;
    switch (n->op) {
    case PG_SUM:
        for (uint32_t j = 0; j < count; j++)
            nodes[v[j]].grad += g;
        break;
    case PG_DOT:
        for (uint32_t j = 0; j + 1 < count; j += 2) {
            pg_node *w = &nodes[v[j]], *x = &nodes[v[j + 1]];
            double wd = w->data, xd = x->data;
            w->grad += g * xd;
            x->grad += g * wd;
        }
        if (count & 1)
            nodes[v[count - 1]].grad += g;
        break;
    default: /* PG_LOGSUMEXP */
        for (uint32_t j = 0; j < count; j++)
            nodes[v[j]].grad += g * exp(nodes[v[j]].data - n->data);
    }
}

/* PG_POWK's exponent, held by its hidden second parent. */
PG_HOT double exponent(const pg_node *nodes, const pg_node *n)
{
    return nodes[n->parent[1]].data;
}

/* Node n's value from its parents' data: the rules' `out =` column. */
PG_HOT double forward_rule(const pg_node *nodes, const pg_node *n)
{
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        double x = nodes[n->parent[0]].data;       \
        double y = nodes[n->parent[1]].data;       \
        return OUT;                                \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        double x = nodes[n->parent[0]].data;       \
        double k = OP == PG_POWK ? exponent(nodes, n) : 0.0; \
        (void)k;                                   \
        return OUT;                                \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        return pg_is_nary(n->op) ? nary_forward(nodes, n) : n->data; /* a leaf keeps its data */
    }
}

/* Adds node n's contributions to its parents' gradients: the d/dx, d/dy
 * columns. */
PG_HOT void backward_rule(pg_node *nodes, const pg_node *n)
{
    double g = n->grad, out = n->data;
    (void)out;
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        pg_node *px = &nodes[n->parent[0]];        \
        pg_node *py = &nodes[n->parent[1]];        \
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
        pg_node *px = &nodes[n->parent[0]];        \
        double x = px->data;                       \
        double k = OP == PG_POWK ? exponent(nodes, n) : 0.0; \
        (void)x;                                   \
        (void)k;                                   \
        px->grad += DX;                            \
        break;                                     \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        if (pg_is_nary(n->op))
            nary_backward(nodes, n);
        break; /* a leaf has no parents */
    }
}

#endif /* PYGRAD_RULES_H */
