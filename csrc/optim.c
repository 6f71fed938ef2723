/* optim.c: optimizer state and updates, over parameter node indices. */
#include <math.h>
#include <stdlib.h>

#include "arena.h"

struct pg_optim {
    uint32_t n;
    uint32_t *params; /* owned; each holds one reference to its node */
    double *m;        /* first moment (Adam) or momentum buffer (SGD) */
    double *v;        /* second moment (Adam) */
    uint64_t t;       /* steps taken */
};

int pg_optim_new(const uint32_t *params, size_t n, pg_optim **out)
{
    if (n > UINT32_MAX)
        return PG_EARG;
    for (size_t k = 0; k < n; k++) {
        if (!pg_live(params[k]))
            return PG_EINDEX;
        if (!pg_can_hold(params[k]))
            return PG_EFULL;
    }
    pg_optim *o = pg_realloc(NULL, sizeof *o);
    size_t bytes = (n ? n : 1) * sizeof(double);
    uint32_t *idx = o ? pg_realloc(NULL, (n ? n : 1) * sizeof(uint32_t)) : NULL;
    double *m = idx ? pg_realloc(NULL, bytes) : NULL;
    double *v = m ? pg_realloc(NULL, bytes) : NULL;
    if (!v) {
        free(m);
        free(idx);
        free(o);
        return PG_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        idx[k] = params[k];
        pg_A.side[params[k]].refs++;
        pg_A.nodes[params[k]].holds++;
        m[k] = v[k] = 0.0;
    }
    *o = (pg_optim){(uint32_t)n, idx, m, v, 0};
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
    free(o->m);
    free(o->v);
    free(o);
}

void pg_optim_zero_grad(pg_optim *o)
{
    for (uint32_t k = 0; k < o->n; k++)
        pg_A.nodes[o->params[k]].grad = 0.0;
}

void pg_sgd_step(pg_optim *o, double lr, double momentum, double weight_decay)
{
    pg_node *nodes = pg_A.nodes;
    for (uint32_t k = 0; k < o->n; k++) {
        pg_node *p = &nodes[o->params[k]];
        double g = p->grad;
        if (weight_decay != 0)
            g += weight_decay * p->data;
        if (momentum != 0) {
            o->m[k] = o->t == 0 ? g : momentum * o->m[k] + g;
            g = o->m[k];
        }
        p->data -= lr * g;
    }
    o->t++;
}

void pg_adam_step(pg_optim *o, double lr, double beta1, double beta2, double eps,
                  double weight_decay)
{
    pg_node *nodes = pg_A.nodes;
    o->t++;
    double step = lr / (1 - pow(beta1, (double)o->t));
    double bc2_sqrt = sqrt(1 - pow(beta2, (double)o->t));
    for (uint32_t k = 0; k < o->n; k++) {
        pg_node *p = &nodes[o->params[k]];
        double g = p->grad;
        if (weight_decay != 0)
            g += weight_decay * p->data;
        o->m[k] += (1 - beta1) * (g - o->m[k]);
        o->v[k] = o->v[k] * beta2 + (1 - beta2) * g * g;
        p->data -= step * o->m[k] / (sqrt(o->v[k]) / bc2_sqrt + eps);
    }
}
