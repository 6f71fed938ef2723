/* handwritten.c: the floor pygrad's benchmarks compare against: the same
 * scalar graphs written by hand in C, with no Python, no reference counts and
 * no sorting. Nodes sit on a tape in the order they were made, one array per
 * field, so a forward pass is one loop up the tape and backward one loop down.
 *
 *   handwritten chain N   backward of x = relu(x*a + b) repeated N times
 *   handwritten mlp S     S steps of micrograd's demo (MLP 2-16-16-1 on 100
 *                         points, max-margin loss + 1e-4 L2, SGD): forward,
 *                         backward and update over the tape, per step
 *   handwritten mnist S   S SGD steps of MLP(784, [50, 10]) with softmax
 *                         cross-entropy, one example a step: dense loops
 *                         over weight matrices, no graph at all
 *
 * Prints one JSON object: the median seconds and the node count. Built and
 * run by benchmarks/run.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LEAF, ADD, SUB, MUL, RELU };

static uint8_t *op;
static uint32_t *pa, *pb;
static double *data, *grad;
static uint32_t n, cap;

static uint32_t node(uint8_t o, uint32_t a, uint32_t b, double d)
{
    if (n == cap) {
        cap = cap ? cap * 2 : 1024;
        op = realloc(op, cap);
        pa = realloc(pa, cap * sizeof *pa);
        pb = realloc(pb, cap * sizeof *pb);
        data = realloc(data, cap * sizeof *data);
        grad = realloc(grad, cap * sizeof *grad);
        if (!op || !pa || !pb || !data || !grad) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    op[n] = o, pa[n] = a, pb[n] = b, data[n] = d, grad[n] = 0;
    return n++;
}

static uint32_t leaf(double d) { return node(LEAF, 0, 0, d); }
static uint32_t add(uint32_t a, uint32_t b) { return node(ADD, a, b, data[a] + data[b]); }
static uint32_t sub(uint32_t a, uint32_t b) { return node(SUB, a, b, data[a] - data[b]); }
static uint32_t mul(uint32_t a, uint32_t b) { return node(MUL, a, b, data[a] * data[b]); }
static uint32_t relu(uint32_t a) { return node(RELU, a, 0, data[a] > 0 ? data[a] : 0); }

static void forward(void)
{
    for (uint32_t i = 0; i < n; i++) {
        switch (op[i]) {
        case ADD: data[i] = data[pa[i]] + data[pb[i]]; break;
        case SUB: data[i] = data[pa[i]] - data[pb[i]]; break;
        case MUL: data[i] = data[pa[i]] * data[pb[i]]; break;
        case RELU: data[i] = data[pa[i]] > 0 ? data[pa[i]] : 0; break;
        default: break;
        }
    }
}

static void backward(uint32_t root)
{
    for (uint32_t i = 0; i < n; i++)
        if (op[i] != LEAF)
            grad[i] = 0;
    grad[root] += 1;
    for (uint32_t i = root + 1; i-- > 0;) {
        double g = grad[i];
        switch (op[i]) {
        case ADD: grad[pa[i]] += g; grad[pb[i]] += g; break;
        case SUB: grad[pa[i]] += g; grad[pb[i]] -= g; break;
        case MUL: grad[pa[i]] += g * data[pb[i]]; grad[pb[i]] += g * data[pa[i]]; break;
        case RELU: grad[pa[i]] += data[i] > 0 ? g : 0; break;
        default: break;
        }
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int k)
{
    qsort(t, k, sizeof *t, by_value);
    return t[k / 2];
}

static void chain(long steps)
{
    uint32_t a = leaf(0.5), b = leaf(0.1), x = leaf(1.0);
    for (long k = 0; k < steps; k++)
        x = relu(add(mul(x, a), b));
    double t[15];
    for (int r = 0; r < 15; r++) {
        double t0 = now();
        backward(x);
        t[r] = now() - t0;
    }
    printf("{\"workload\": \"chain\", \"nodes\": %ld, \"backward_s\": %.9g}\n",
           3 * steps, median(t, 15));
}

/* A pseudo-random number in [-1, 1), repeatable. */
static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / (double)(1ULL << 53) * 2 - 1;
}

static void mlp(int steps)
{
    enum { N = 100, H = 16 };
    uint64_t s = 1337;
    uint32_t params[2 * H + H + H * H + H + H + 1], np = 0;
    uint32_t w1[H][2], b1[H], w2[H][H], b2[H], w3[H], b3;
    for (int j = 0; j < H; j++) {
        for (int i = 0; i < 2; i++) params[np++] = w1[j][i] = leaf(uniform(&s));
        params[np++] = b1[j] = leaf(0);
    }
    for (int j = 0; j < H; j++) {
        for (int i = 0; i < H; i++) params[np++] = w2[j][i] = leaf(uniform(&s));
        params[np++] = b2[j] = leaf(0);
    }
    for (int i = 0; i < H; i++) params[np++] = w3[i] = leaf(uniform(&s));
    params[np++] = b3 = leaf(0);

    /* The graph pygrad's demo builds: act = b + w0*x0 + w1*x1 ..., relu on
     * hidden layers, loss = sum(relu(1 - y*score)) * (1/N) + 1e-4 * sum(p*p). */
    uint32_t data_loss = 0;
    for (int p = 0; p < N; p++) {
        double t = 2 * M_PI * p / N;
        uint32_t x[2] = {leaf(cos(t)), leaf(sin(t))};
        uint32_t h1[H], h2[H];
        for (int j = 0; j < H; j++) {
            uint32_t act = b1[j];
            for (int i = 0; i < 2; i++) act = add(act, mul(w1[j][i], x[i]));
            h1[j] = relu(act);
        }
        for (int j = 0; j < H; j++) {
            uint32_t act = b2[j];
            for (int i = 0; i < H; i++) act = add(act, mul(w2[j][i], h1[i]));
            h2[j] = relu(act);
        }
        uint32_t score = b3;
        for (int i = 0; i < H; i++) score = add(score, mul(w3[i], h2[i]));
        uint32_t margin = relu(sub(leaf(1.0), mul(leaf(p % 2 ? 1.0 : -1.0), score)));
        data_loss = p ? add(data_loss, margin) : margin;
    }
    data_loss = mul(data_loss, leaf(1.0 / N));
    uint32_t reg = mul(params[0], params[0]);
    for (uint32_t k = 1; k < np; k++) reg = add(reg, mul(params[k], params[k]));
    uint32_t loss = add(data_loss, mul(leaf(1e-4), reg));

    double *t = malloc(steps * sizeof *t);
    for (int r = 0; r < steps; r++) {
        double t0 = now();
        forward();
        for (uint32_t k = 0; k < np; k++) grad[params[k]] = 0;
        backward(loss);
        for (uint32_t k = 0; k < np; k++) data[params[k]] -= 0.01 * grad[params[k]];
        t[r] = now() - t0;
    }
    printf("{\"workload\": \"replay\", \"nodes\": %u, \"step_s\": %.9g, \"loss\": %.17g}\n",
           n, median(t, steps), data[loss]);
    free(t);
}

/* MLP(784, [50, 10]) as anyone writes it in C: weight matrices, dense
 * loops, sums from the bias left to right as pygrad's dot adds them, the
 * gradients it needs (not the inputs'), and the SGD update. */
static void mnist(int steps)
{
    enum { IN = 784, H = 50, OUT = 10, K = 8 };
    static double w1[H][IN], b1[H], w2[OUT][H], b2[OUT], x[K][IN];
    static double h[H], o[OUT], dout[OUT], dh[H];
    int label[K];
    uint64_t s = 784;
    for (int j = 0; j < H; j++)
        for (int i = 0; i < IN; i++)
            w1[j][i] = uniform(&s);
    for (int k = 0; k < OUT; k++)
        for (int j = 0; j < H; j++)
            w2[k][j] = uniform(&s);
    for (int e = 0; e < K; e++) {
        for (int i = 0; i < IN; i++)
            x[e][i] = (uniform(&s) + 1) / 2;
        label[e] = (int)((uniform(&s) + 1) / 2 * OUT) % OUT;
    }
    const double lr = 0.01;
    double loss = 0, *t = malloc(steps * sizeof *t);
    for (int r = 0; r < steps; r++) {
        const double *in = x[r % K];
        int y = label[r % K];
        double t0 = now();
        for (int j = 0; j < H; j++) {
            double a = b1[j];
            for (int i = 0; i < IN; i++)
                a += w1[j][i] * in[i];
            h[j] = a > 0 ? a : 0;
        }
        double m = -INFINITY, sum = 0;
        for (int k = 0; k < OUT; k++) {
            double a = b2[k];
            for (int j = 0; j < H; j++)
                a += w2[k][j] * h[j];
            o[k] = a;
            m = a > m ? a : m;
        }
        for (int k = 0; k < OUT; k++)
            sum += exp(o[k] - m);
        double lse = m + log(sum);
        loss = lse - o[y];
        for (int k = 0; k < OUT; k++)
            dout[k] = exp(o[k] - lse) - (k == y);
        for (int j = 0; j < H; j++)
            dh[j] = 0;
        for (int k = 0; k < OUT; k++) {
            for (int j = 0; j < H; j++) {
                dh[j] += w2[k][j] * dout[k];
                w2[k][j] -= lr * dout[k] * h[j];
            }
            b2[k] -= lr * dout[k];
        }
        for (int j = 0; j < H; j++) {
            double g = h[j] > 0 ? dh[j] : 0;
            for (int i = 0; i < IN; i++)
                w1[j][i] -= lr * g * in[i];
            b1[j] -= lr * g;
        }
        t[r] = now() - t0;
    }
    printf("{\"workload\": \"mnist\", \"step_s\": %.9g, \"loss\": %.17g}\n", median(t, steps),
           loss);
    free(t);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "chain"))
        chain(atol(argv[2]));
    else if (argc == 3 && !strcmp(argv[1], "mlp"))
        mlp(atoi(argv[2]));
    else if (argc == 3 && !strcmp(argv[1], "mnist"))
        mnist(atoi(argv[2]));
    else {
        fprintf(stderr, "usage: handwritten chain|mlp|mnist STEPS\n");
        return 2;
    }
    return 0;
}
