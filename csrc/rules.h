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
 * is m itself where m is infinite, and NaN where any v[j] is.
 *
 * A PG_DOT node with PG_RUNS (arena.h) has its weights and inputs at two runs
 * of consecutive indices: the same rules then read and write them as plain
 * arrays, with the same terms added in the same order. */

/* y[j] += a * x[j], for j < n: a PG_RUNS dot's gradients. grad[] and data[]
 * are separate blocks, so y and x never overlap. */
static inline void axpy(double *restrict y, const double *restrict x, double a, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++)
        y[j] += a * x[j];
}

static inline double nary_forward(const double *data, const pg_node *n)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    double out;
    switch (n->op) {
    case PG_SUM:
        out = data[v[0]];
        for (uint32_t j = 1; j < count; j++)
            out += data[v[j]];
        return out;
    case PG_DOT: {
        uint32_t j = 0, pairs = count / 2;
        if (count & 1) {
            out = data[v[count - 1]];
        } else {
            out = data[v[0]] * data[v[1]];
            j = 1;
        }
        if (n->flags & PG_RUNS) {
            const double *w = data + v[0], *x = data + v[1];
            for (; j < pairs; j++)
                out += w[j] * x[j];
        } else {
            for (; j < pairs; j++)
                out += data[v[2 * j]] * data[v[2 * j + 1]];
        }
        return out;
    }
    default: { /* PG_LOGSUMEXP */
        double m = -INFINITY, sum = 0.0;
        for (uint32_t j = 0; j < count; j++) {
            double x = data[v[j]];
            if (isnan(x))
                return NAN;
            if (x > m)
                m = x;
        }
        if (isinf(m))
            return m;
        for (uint32_t j = 0; j < count; j++)
            sum += exp(data[v[j]] - m);
        return m + log(sum);
    }
    }
}

/* Adds an n-ary node's contributions, from its gradient g and value out, to
 * its operands' gradients. */
static inline void nary_backward(const double *data, double *grad, const pg_node *n,
                                 double g, double out)
{
    uint32_t count;
    const uint32_t *v = pg_operands(n, &count);
    switch (n->op) {
    case PG_SUM:
        for (uint32_t j = 0; j < count; j++)
            grad[v[j]] += g;
        break;
    case PG_DOT:
        if (n->flags & PG_RUNS) {
            /* Each operand gets its terms in the order of the loop below:
             * the runs do not overlap, or are one run whose every entry gets
             * its weight's term before its input's. */
            axpy(grad + v[0], data + v[1], g, count / 2);
            axpy(grad + v[1], data + v[0], g, count / 2);
        } else {
            for (uint32_t j = 0; j + 1 < count; j += 2) {
                double wd = data[v[j]], xd = data[v[j + 1]];
                grad[v[j]] += g * xd;
                grad[v[j + 1]] += g * wd;
            }
        }
        if (count & 1)
            grad[v[count - 1]] += g;
        break;
    default: /* PG_LOGSUMEXP */
        for (uint32_t j = 0; j < count; j++)
            grad[v[j]] += g * exp(data[v[j]] - out);
    }
}

/* PG_POWK's exponent, held by its hidden second parent. */
PG_HOT double exponent(const double *data, const pg_node *n)
{
    return data[n->parent[1]];
}

/* A node's value from its operands' data: the rules' `out =` column. */
PG_HOT double forward_rule(const double *data, const pg_node *n)
{
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        double x = data[n->parent[0]];             \
        double y = data[n->parent[1]];             \
        return OUT;                                \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        double x = data[n->parent[0]];             \
        double k = OP == PG_POWK ? exponent(data, n) : 0.0; \
        (void)k;                                   \
        return OUT;                                \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        return nary_forward(data, n);
    }
}

/* Adds the contributions of node i (its structure n) to its operands'
 * gradients: the d/dx, d/dy columns. Not for a leaf. */
PG_HOT void backward_rule(const double *data, double *grad, const pg_node *n, uint32_t i)
{
    double g = grad[i], out = data[i];
    (void)out;
    switch (n->op) {
#define R(OP, OUT, DX, DY)                         \
    case OP: {                                     \
        uint32_t px = n->parent[0], py = n->parent[1]; \
        double x = data[px], y = data[py];         \
        (void)x;                                   \
        (void)y;                                   \
        grad[px] += DX;                            \
        grad[py] += DY;                            \
        break;                                     \
    }
        PG_BINARY_RULES(R)
#undef R
#define R(OP, OUT, DX)                             \
    case OP: {                                     \
        uint32_t px = n->parent[0];                \
        double x = data[px];                       \
        double k = OP == PG_POWK ? exponent(data, n) : 0.0; \
        (void)x;                                   \
        (void)k;                                   \
        grad[px] += DX;                            \
        break;                                     \
    }
        PG_UNARY_RULES(R)
#undef R
    default: /* n-ary ops, kept out of the switch that the others share */
        nary_backward(data, grad, n, g, out);
        break;
    }
}

#endif /* PYGRAD_RULES_H */
