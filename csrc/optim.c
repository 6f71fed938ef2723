/* optim.c: optimizer state and updates, over parameter node indices. */
#include <math.h>
#include <stdlib.h>

#include "arena.h"

struct pg_optim {
    uint32_t n;
    uint32_t *params; /* owned; each holds one reference to its node */
    uint32_t nruns;
    uint32_t *runs;   /* owned: params as nruns runs of consecutive indices,
                         (first index, length) pairs in the order of params */
    double *m;        /* first moment (Adam) or momentum buffer (SGD), by
                         position in params */
    double *v;        /* second moment (Adam) */
    uint64_t t;       /* steps taken */
};

/* The runs of consecutive indices in params[0 .. n-1], as pairs into runs
 * (room for 2n); returns how many. A model's parameters, made one after
 * another, are a few long runs: the updates then go over plain arrays. */
static uint32_t find_runs(const uint32_t *params, uint32_t n, uint32_t *runs)
{
    uint32_t nruns = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (nruns && params[k] == runs[2 * nruns - 2] + runs[2 * nruns - 1]) {
            runs[2 * nruns - 1]++;
        } else {
            runs[2 * nruns] = params[k];
            runs[2 * nruns + 1] = 1;
            nruns++;
        }
    }
    return nruns;
}

int pg_optim_new(const uint32_t *params, size_t n, pg_optim **out)
{
    if (n > UINT32_MAX / 2)
        return PG_EARG;
    for (size_t k = 0; k < n; k++)
        if (!pg_live(params[k]))
            return PG_EINDEX;
    pg_optim *o = pg_realloc(NULL, sizeof *o);
    size_t bytes = (n ? n : 1) * sizeof(double);
    uint32_t *idx = o ? pg_realloc(NULL, (n ? n : 1) * sizeof(uint32_t)) : NULL;
    uint32_t *runs = idx ? pg_realloc(NULL, (n ? n : 1) * 2 * sizeof(uint32_t)) : NULL;
    double *m = runs ? pg_realloc(NULL, bytes) : NULL;
    double *v = m ? pg_realloc(NULL, bytes) : NULL;
    /* one hold at a time, checked each time: a parameter may repeat */
    int s = v ? pg_hold_all(params, n) : PG_ENOMEM;
    if (s != PG_OK) {
        free(v);
        free(m);
        free(runs);
        free(idx);
        free(o);
        return s;
    }
    for (size_t k = 0; k < n; k++) {
        idx[k] = params[k];
        m[k] = v[k] = 0.0;
    }
    uint32_t nruns = find_runs(idx, (uint32_t)n, runs);
    uint32_t *fit = nruns ? realloc(runs, (size_t)nruns * 2 * sizeof(uint32_t)) : NULL;
    if (fit) /* on failure the larger block serves as well */
        runs = fit;
    *o = (pg_optim){(uint32_t)n, idx, nruns, runs, m, v, 0};
    *out = o;
    return PG_OK;
}

void pg_optim_free(pg_optim *o)
{
    if (!o)
        return;
    for (uint32_t k = 0; k < o->n; k++)
        pg_release(o->params[k]);
    free(o->params);
    free(o->runs);
    free(o->m);
    free(o->v);
    free(o);
}

void pg_optim_zero_grad(pg_optim *o)
{
    for (uint32_t r = 0; r < o->nruns; r++) {
        pg_value *p = pg_A.val + o->runs[2 * r];
        /* whole values written: a third faster than storing grad alone */
        for (uint32_t j = 0; j < o->runs[2 * r + 1]; j++)
            p[j] = (pg_value){p[j].data, 0.0};
    }
}

/* SGD over one run: parameters p and their momentum buffers m. */
static void sgd_run(pg_value *restrict p, double *restrict m, uint32_t n, double lr,
                    double momentum, double weight_decay, int first)
{
    if (momentum == 0 && weight_decay == 0) { /* plain SGD, the common case */
        for (uint32_t j = 0; j < n; j++)
            p[j].data -= lr * p[j].grad;
        return;
    }
    for (uint32_t j = 0; j < n; j++) {
        double d = p[j].grad;
        if (weight_decay != 0)
            d += weight_decay * p[j].data;
        if (momentum != 0) {
            m[j] = first ? d : momentum * m[j] + d;
            d = m[j];
        }
        p[j].data -= lr * d;
    }
}

void pg_sgd_step(pg_optim *o, double lr, double momentum, double weight_decay)
{
    for (uint32_t r = 0, k = 0; r < o->nruns; k += o->runs[2 * r + 1], r++) {
        uint32_t i = o->runs[2 * r];
        sgd_run(pg_A.val + i, o->m + k, o->runs[2 * r + 1], lr, momentum, weight_decay,
                o->t == 0);
    }
    o->t++;
}

/* Adam over one run, with step = lr / (1 - beta1^t) and bc2_sqrt =
 * sqrt(1 - beta2^t). */
static void adam_run(pg_value *restrict p, double *restrict m, double *restrict v, uint32_t n,
                     double step, double bc2_sqrt, double beta1, double beta2, double eps,
                     double weight_decay)
{
    for (uint32_t j = 0; j < n; j++) {
        double d = p[j].grad;
        if (weight_decay != 0)
            d += weight_decay * p[j].data;
        m[j] += (1 - beta1) * (d - m[j]);
        v[j] = v[j] * beta2 + (1 - beta2) * d * d;
        p[j].data -= step * m[j] / (sqrt(v[j]) / bc2_sqrt + eps);
    }
}

void pg_adam_step(pg_optim *o, double lr, double beta1, double beta2, double eps,
                  double weight_decay)
{
    o->t++;
    double step = lr / (1 - pow(beta1, (double)o->t));
    double bc2_sqrt = sqrt(1 - pow(beta2, (double)o->t));
    for (uint32_t r = 0, k = 0; r < o->nruns; k += o->runs[2 * r + 1], r++) {
        uint32_t i = o->runs[2 * r];
        adam_run(pg_A.val + i, o->m + k, o->v + k, o->runs[2 * r + 1], step, bc2_sqrt, beta1,
                 beta2, eps, weight_decay);
    }
}
