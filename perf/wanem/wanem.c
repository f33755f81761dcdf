/*
 * wanem: a user-space WAN emulator between two network namespaces.
 *
 * The kernel this project benchmarks on has no netem, so this program plays the wide-area link.
 * It attaches to one TUN device in each of two namespaces (side A and side B), reads every IP
 * packet the kernel routes into one side and writes it out of the other after the impairments
 * configured for that direction ("ab": A to B, "ba": B to A):
 *
 *   read ─▶ random loss ─▶ bursty loss ─▶ bottleneck queue ─▶ token bucket ─▶ delay line ─▶ write
 *           (Bernoulli)    (Gilbert,       (byte-bounded,     (rate limit)    (delay, jitter,
 *                          mean burst)     tail drop)                         reordering)
 *
 * The order follows a real path: packets wait in the bottleneck's buffer, leave it at the link
 * rate, then travel for the propagation delay. Jitter never reorders: a packet leaves no earlier
 * than the one before it, as on a single physical path (so under load the delay drifts towards
 * delay + jitter). Reordering is its own knob: a chosen fraction of packets leaves GAP ms earlier
 * than its turn and overtakes whatever is in flight in that window.
 *
 * It is one thread and one event loop: ppoll() with a nanosecond timeout for the next departure,
 * CLOCK_MONOTONIC, a fixed pool of packet buffers (no allocation on the data path), SCHED_FIFO so
 * the timing holds on a busy machine. Statistics per direction go to stderr on exit (SIGINT or
 * SIGTERM) and whenever SIGUSR1 arrives, as key=value lines a script can parse.
 *
 * Build: perf/wanem/build.sh (gcc, no libraries beyond libc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PKT_MAX 2048          /* larger than any TUN MTU we configure (1500) */
#define POOL_PACKETS 65536    /* 128 MiB of buffers: enough for 1 Gbit/s over 500 ms of delay */
#define READ_BATCH 64         /* packets read per side per wake-up before looking at timers */

/* ---------- settings ---------- */

struct dir_cfg {
    double delay_ms;          /* one-way propagation delay */
    double jitter_ms;         /* uniform in [-jitter, +jitter], clamped so packets stay in order */
    double loss;              /* Bernoulli loss probability, 0..1 */
    double burst_loss;        /* long-run loss of the Gilbert model, 0..1 */
    double burst_len;         /* mean burst length of the Gilbert model, packets (>= 1) */
    double reorder;           /* probability a packet is sent early, 0..1 */
    double reorder_gap_ms;    /* how much earlier a reordered packet leaves */
    double rate_mbps;         /* token-bucket rate, Mbit/s of IP bytes; 0 = unlimited */
    long queue_bytes;         /* bottleneck buffer; packets beyond it are tail-dropped */
    long burst_bytes;         /* token-bucket depth */
};

/* ---------- packets, FIFO and delay heap ---------- */

struct pkt {
    struct pkt *next;         /* FIFO / free-list link */
    uint64_t due_ns;          /* departure time from the delay line */
    uint64_t seq;             /* tie-breaker: equal due times leave in arrival order */
    uint16_t len;
    unsigned char data[PKT_MAX];
};

static struct pkt *free_list;

static struct pkt *pkt_alloc(void) {
    struct pkt *p = free_list;
    if (p) free_list = p->next;
    return p;
}

static void pkt_free(struct pkt *p) {
    p->next = free_list;
    free_list = p;
}

struct heap {                 /* binary min-heap on (due_ns, seq) */
    struct pkt **a;
    size_t n;
};

static int heap_less(const struct pkt *x, const struct pkt *y) {
    return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->seq < y->seq);
}

static void heap_push(struct heap *h, struct pkt *p) {
    size_t i = h->n++;
    h->a[i] = p;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(h->a[i], h->a[parent])) break;
        struct pkt *t = h->a[i]; h->a[i] = h->a[parent]; h->a[parent] = t;
        i = parent;
    }
}

static struct pkt *heap_pop(struct heap *h) {
    struct pkt *top = h->a[0];
    h->a[0] = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_less(h->a[l], h->a[m])) m = l;
        if (r < h->n && heap_less(h->a[r], h->a[m])) m = r;
        if (m == i) break;
        struct pkt *t = h->a[i]; h->a[i] = h->a[m]; h->a[m] = t;
        i = m;
    }
    return top;
}

/* ---------- one direction ---------- */

struct stats {
    uint64_t rx_pkts, rx_bytes;           /* read from the ingress TUN */
    uint64_t tx_pkts, tx_bytes;           /* written to the egress TUN */
    uint64_t drop_loss, drop_burst;       /* impairments */
    uint64_t drop_queue;                  /* tail drop at the bottleneck */
    uint64_t drop_nobuf;                  /* buffer pool exhausted */
    uint64_t write_err;                   /* egress write failed */
    uint64_t reordered;                   /* sent early by the reorder knob */
    uint64_t max_queue_bytes;             /* high-water mark of the bottleneck buffer */
};

struct dir {
    const char *name;
    struct dir_cfg cfg;
    int in_fd, out_fd;
    struct pkt *q_head, *q_tail;          /* bottleneck queue (FIFO) */
    long q_bytes;
    double tokens;                        /* bytes */
    uint64_t tokens_ns;                   /* when tokens were last refilled */
    double bytes_per_ns;
    struct heap line;                     /* delay line */
    uint64_t last_due_ns;                 /* in-order floor for jittered packets */
    int bad;                              /* Gilbert state: 1 = in a loss burst */
    double p_good_bad, p_bad_good;
    struct stats st;
};

static uint64_t seq_counter;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: fast, good enough for loss and jitter decisions; seeded from --seed for repeatable runs. */
static double rnd01(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void dir_init(struct dir *d, const char *name) {
    memset(d, 0, sizeof *d);
    d->name = name;
    d->cfg.burst_len = 1;
    d->cfg.queue_bytes = 1000000;
    d->line.a = calloc(POOL_PACKETS, sizeof(struct pkt *));
    if (!d->line.a) { perror("calloc"); exit(1); }
}

static void dir_start(struct dir *d, uint64_t now) {
    struct dir_cfg *c = &d->cfg;
    d->bytes_per_ns = c->rate_mbps * 1e6 / 8.0 / 1e9;
    if (c->burst_bytes <= 0) {
        /* One millisecond at the rate, at least two full packets: small enough to keep the rate
           honest at 1 ms granularity, large enough that timer slack does not idle the link. */
        double ms = c->rate_mbps * 1e6 / 8.0 / 1000.0;
        c->burst_bytes = ms < 3000 ? 3000 : (long)ms;
    }
    d->tokens = (double)c->burst_bytes;
    d->tokens_ns = now;
    /* Gilbert model with loss only in the bad state: stationary P(bad) = p/(p+r) = burst_loss and
       mean sojourn in bad = 1/r = burst_len packets. */
    if (c->burst_loss > 0) {
        d->p_bad_good = 1.0 / c->burst_len;
        d->p_good_bad = d->p_bad_good * c->burst_loss / (1.0 - c->burst_loss);
    }
}

/* Move due packets from the bottleneck queue into the delay line, as far as tokens allow. */
static void drain_queue(struct dir *d, uint64_t now) {
    if (d->cfg.rate_mbps > 0) {
        d->tokens += (double)(now - d->tokens_ns) * d->bytes_per_ns;
        if (d->tokens > d->cfg.burst_bytes) d->tokens = (double)d->cfg.burst_bytes;
        d->tokens_ns = now;
    }
    while (d->q_head) {
        struct pkt *p = d->q_head;
        if (d->cfg.rate_mbps > 0) {
            if (d->tokens < p->len) break;
            d->tokens -= p->len;
        }
        d->q_head = p->next;
        if (!d->q_head) d->q_tail = NULL;
        d->q_bytes -= p->len;

        double delay = d->cfg.delay_ms;
        if (d->cfg.jitter_ms > 0) delay += (rnd01() * 2.0 - 1.0) * d->cfg.jitter_ms;
        if (delay < 0) delay = 0;
        uint64_t due = now + (uint64_t)(delay * 1e6);
        if (due < d->last_due_ns) due = d->last_due_ns;   /* jitter never reorders */
        if (d->cfg.reorder > 0 && rnd01() < d->cfg.reorder) {
            uint64_t gap = (uint64_t)(d->cfg.reorder_gap_ms * 1e6);
            due = due > now + gap ? due - gap : now;          /* skip ahead; floor unchanged */
            d->st.reordered++;
        } else {
            d->last_due_ns = due;
        }
        p->due_ns = due;
        p->seq = seq_counter++;
        heap_push(&d->line, p);
    }
}

/* Write every packet whose time has come. */
static void drain_line(struct dir *d, uint64_t now) {
    while (d->line.n > 0 && d->line.a[0]->due_ns <= now) {
        struct pkt *p = heap_pop(&d->line);
        if (write(d->out_fd, p->data, p->len) == p->len) {
            d->st.tx_pkts++;
            d->st.tx_bytes += p->len;
        } else {
            d->st.write_err++;
        }
        pkt_free(p);
    }
}

/* Accept one packet just read: loss, then the bottleneck buffer. Returns 1 if kept. */
static int admit(struct dir *d, struct pkt *p) {
    d->st.rx_pkts++;
    d->st.rx_bytes += p->len;
    if (d->cfg.loss > 0 && rnd01() < d->cfg.loss) { d->st.drop_loss++; return 0; }
    if (d->cfg.burst_loss > 0) {
        if (d->bad) { if (rnd01() < d->p_bad_good) d->bad = 0; }
        else if (rnd01() < d->p_good_bad) d->bad = 1;
        if (d->bad) { d->st.drop_burst++; return 0; }
    }
    if (d->q_bytes + p->len > d->cfg.queue_bytes) { d->st.drop_queue++; return 0; }
    p->next = NULL;
    if (d->q_tail) d->q_tail->next = p; else d->q_head = p;
    d->q_tail = p;
    d->q_bytes += p->len;
    if ((uint64_t)d->q_bytes > d->st.max_queue_bytes) d->st.max_queue_bytes = d->q_bytes;
    return 1;
}

static void read_side(struct dir *d, uint64_t now) {
    for (int i = 0; i < READ_BATCH; i++) {
        struct pkt *p = pkt_alloc();
        if (!p) {
            /* Pool empty: read into a scratch buffer so the TUN queue keeps moving, and count it. */
            static unsigned char scratch[PKT_MAX];
            ssize_t n = read(d->in_fd, scratch, sizeof scratch);
            if (n <= 0) return;
            d->st.rx_pkts++;
            d->st.rx_bytes += (uint64_t)n;
            d->st.drop_nobuf++;
            continue;
        }
        ssize_t n = read(d->in_fd, p->data, PKT_MAX);
        if (n <= 0) { pkt_free(p); return; }
        p->len = (uint16_t)n;
        if (!admit(d, p)) pkt_free(p);
    }
    drain_queue(d, now);
}

/* When this direction next needs the loop: a departure from the line or enough tokens. */
static uint64_t next_event(struct dir *d, uint64_t now) {
    uint64_t t = UINT64_MAX;
    if (d->line.n > 0) t = d->line.a[0]->due_ns;
    if (d->q_head) {
        double missing = (double)d->q_head->len - d->tokens;
        uint64_t when = missing <= 0 || d->cfg.rate_mbps <= 0
                ? now : now + (uint64_t)(missing / d->bytes_per_ns) + 1;
        if (when < t) t = when;
    }
    return t;
}

/* ---------- TUN in a namespace ---------- */

static int open_tun_in_netns(const char *netns, const char *ifname) {
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) { perror("open /proc/self/ns/net"); exit(1); }
    if (netns && *netns) {
        char path[256];
        snprintf(path, sizeof path, "/var/run/netns/%s", netns);
        int ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0) { fprintf(stderr, "wanem: open %s: %s\n", path, strerror(errno)); exit(1); }
        if (setns(ns, CLONE_NEWNET) < 0) { perror("setns"); exit(1); }
        close(ns);
    }
    /* The TUN file belongs to the namespace it is opened in, so open it after setns. */
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { perror("open /dev/net/tun"); exit(1); }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "wanem: TUNSETIFF %s in %s: %s\n", ifname, netns ? netns : "(own)", strerror(errno));
        exit(1);
    }
    if (setns(self, CLONE_NEWNET) < 0) { perror("setns back"); exit(1); }
    close(self);
    return fd;
}

/* ---------- statistics and signals ---------- */

static volatile sig_atomic_t stop_flag, dump_flag;

static void on_stop(int sig) { (void)sig; stop_flag = 1; }
static void on_dump(int sig) { (void)sig; dump_flag = 1; }

static void dump(const struct dir *d) {
    const struct stats *s = &d->st;
    fprintf(stderr,
            "wanem dir=%s rx_pkts=%llu rx_bytes=%llu tx_pkts=%llu tx_bytes=%llu drop_loss=%llu "
            "drop_burst=%llu drop_queue=%llu drop_nobuf=%llu write_err=%llu reordered=%llu "
            "max_queue_bytes=%llu in_flight=%zu queued_bytes=%ld\n",
            d->name, (unsigned long long)s->rx_pkts, (unsigned long long)s->rx_bytes,
            (unsigned long long)s->tx_pkts, (unsigned long long)s->tx_bytes,
            (unsigned long long)s->drop_loss, (unsigned long long)s->drop_burst,
            (unsigned long long)s->drop_queue, (unsigned long long)s->drop_nobuf,
            (unsigned long long)s->write_err, (unsigned long long)s->reordered,
            (unsigned long long)s->max_queue_bytes, d->line.n, d->q_bytes);
    fflush(stderr);
}

static void print_cfg(const struct dir *d) {
    const struct dir_cfg *c = &d->cfg;
    fprintf(stderr,
            "wanem config dir=%s delay_ms=%.3f jitter_ms=%.3f loss=%.5f burst_loss=%.5f burst_len=%.1f "
            "reorder=%.5f reorder_gap_ms=%.3f rate_mbps=%.3f queue_bytes=%ld burst_bytes=%ld\n",
            d->name, c->delay_ms, c->jitter_ms, c->loss, c->burst_loss, c->burst_len, c->reorder,
            c->reorder_gap_ms, c->rate_mbps, c->queue_bytes, c->burst_bytes);
}

/* ---------- command line ---------- */

static void usage(FILE *out) {
    fprintf(out,
        "usage: wanem --a NETNS:IFNAME --b NETNS:IFNAME [options]\n"
        "  Forwards IP packets between TUN device IFNAME in namespace A and the one in B.\n"
        "  Each impairment takes a direction prefix: --ab-... (A to B), --ba-... (B to A),\n"
        "  or none for both directions.\n"
        "  --delay MS           one-way delay (default 0)\n"
        "  --jitter MS          uniform +-MS around the delay; never reorders (default 0)\n"
        "  --loss PCT           random (Bernoulli) loss, percent (default 0)\n"
        "  --burst-loss PCT:LEN bursty loss: long-run PCT percent, in bursts of LEN packets on\n"
        "                       average (Gilbert model) (default off)\n"
        "  --reorder PCT:GAP    PCT percent of packets leave GAP ms ahead of their turn\n"
        "  --rate MBPS          bottleneck rate in Mbit/s of IP bytes; 0 = unlimited (default 0)\n"
        "  --queue BYTES        bottleneck buffer, tail drop beyond it (default 1000000)\n"
        "  --burst BYTES        token-bucket depth (default max(3000, 1 ms at the rate))\n"
        "  --seed N             random seed (default fixed, so runs repeat)\n"
        "  --rt-priority N      SCHED_FIFO priority, 0 = stay SCHED_OTHER (default 50)\n"
        "Statistics go to stderr on SIGINT/SIGTERM (then exit) and on SIGUSR1.\n");
}

static double parse_num(const char *opt, const char *v, double lo, double hi) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "wanem: %s: %s (expected: a number in %g..%g)\n", opt, v, lo, hi);
        exit(2);
    }
    return x;
}

static void parse_pair(const char *opt, const char *v, double *a, double *b, double alo, double ahi,
                       double blo, double bhi) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    char *colon = strchr(buf, ':');
    if (!colon) {
        fprintf(stderr, "wanem: %s: %s (expected: X:Y)\n", opt, v);
        exit(2);
    }
    *colon = 0;
    *a = parse_num(opt, buf, alo, ahi);
    *b = parse_num(opt, colon + 1, blo, bhi);
}

/* Applies one impairment option to a direction's settings; returns 0 if the name is unknown. */
static int apply(struct dir_cfg *c, const char *name, const char *v) {
    double a, b;
    if (!strcmp(name, "delay")) c->delay_ms = parse_num(name, v, 0, 10000);
    else if (!strcmp(name, "jitter")) c->jitter_ms = parse_num(name, v, 0, 10000);
    else if (!strcmp(name, "loss")) c->loss = parse_num(name, v, 0, 100) / 100.0;
    else if (!strcmp(name, "burst-loss")) {
        parse_pair(name, v, &a, &b, 0, 99, 1, 1e6);
        c->burst_loss = a / 100.0;
        c->burst_len = b;
    } else if (!strcmp(name, "reorder")) {
        parse_pair(name, v, &a, &b, 0, 100, 0, 10000);
        c->reorder = a / 100.0;
        c->reorder_gap_ms = b;
    } else if (!strcmp(name, "rate")) c->rate_mbps = parse_num(name, v, 0, 100000);
    else if (!strcmp(name, "queue")) c->queue_bytes = (long)parse_num(name, v, 1500, 1e10);
    else if (!strcmp(name, "burst")) c->burst_bytes = (long)parse_num(name, v, 1500, 1e10);
    else return 0;
    return 1;
}

static void split_side(const char *opt, const char *v, char *ns, char *ifname) {
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || !colon[1] || colon - v >= 200 || strlen(colon + 1) >= IFNAMSIZ) {
        fprintf(stderr, "wanem: %s: %s (expected: NETNS:IFNAME)\n", opt, v);
        exit(2);
    }
    memcpy(ns, v, (size_t)(colon - v));
    ns[colon - v] = 0;
    strcpy(ifname, colon + 1);
}

int main(int argc, char **argv) {
    struct dir ab, ba;
    dir_init(&ab, "ab");
    dir_init(&ba, "ba");
    char a_ns[256] = "", a_if[IFNAMSIZ] = "", b_ns[256] = "", b_if[IFNAMSIZ] = "";
    int rt_prio = 50;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) { usage(stdout); return 0; }
        if (strncmp(arg, "--", 2) || i + 1 >= argc) {
            fprintf(stderr, "wanem: %s: unknown or missing value (see --help)\n", arg);
            return 2;
        }
        const char *v = argv[++i];
        const char *name = arg + 2;
        if (!strcmp(name, "a")) split_side(arg, v, a_ns, a_if);
        else if (!strcmp(name, "b")) split_side(arg, v, b_ns, b_if);
        else if (!strcmp(name, "seed")) rng_state = (uint64_t)parse_num(arg, v, 1, 1e18);
        else if (!strcmp(name, "rt-priority")) rt_prio = (int)parse_num(arg, v, 0, 99);
        else if (!strncmp(name, "ab-", 3)) { if (!apply(&ab.cfg, name + 3, v)) goto unknown; }
        else if (!strncmp(name, "ba-", 3)) { if (!apply(&ba.cfg, name + 3, v)) goto unknown; }
        else if (apply(&ab.cfg, name, v)) apply(&ba.cfg, name, v);
        else {
        unknown:
            fprintf(stderr, "wanem: %s: unknown option (see --help)\n", arg);
            return 2;
        }
    }
    if (!*a_if || !*b_if) {
        usage(stderr);
        return 2;
    }

    /* Preallocate and pin every buffer: no page faults or allocation while packets flow. */
    struct pkt *pool = calloc(POOL_PACKETS, sizeof(struct pkt));
    if (!pool) { perror("calloc pool"); return 1; }
    for (int i = POOL_PACKETS - 1; i >= 0; i--) pkt_free(&pool[i]);
    if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) perror("wanem: mlockall (continuing)");

    int fd_a = open_tun_in_netns(a_ns, a_if);
    int fd_b = open_tun_in_netns(b_ns, b_if);
    ab.in_fd = fd_a; ab.out_fd = fd_b;
    ba.in_fd = fd_b; ba.out_fd = fd_a;

    if (rt_prio > 0) {
        struct sched_param sp = { .sched_priority = rt_prio };
        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) perror("wanem: SCHED_FIFO (continuing)");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_dump;
    sigaction(SIGUSR1, &sa, NULL);

    uint64_t now = now_ns();
    dir_start(&ab, now);
    dir_start(&ba, now);
    print_cfg(&ab);
    print_cfg(&ba);
    fprintf(stderr, "wanem ready a=%s:%s b=%s:%s\n", a_ns, a_if, b_ns, b_if);

    struct pollfd pfd[2] = { { .fd = fd_a, .events = POLLIN }, { .fd = fd_b, .events = POLLIN } };
    while (!stop_flag) {
        if (dump_flag) { dump_flag = 0; dump(&ab); dump(&ba); }
        now = now_ns();
        drain_queue(&ab, now);
        drain_queue(&ba, now);
        drain_line(&ab, now);
        drain_line(&ba, now);

        uint64_t next = next_event(&ab, now);
        uint64_t nb = next_event(&ba, now);
        if (nb < next) next = nb;
        struct timespec ts, *tsp = NULL;
        if (next != UINT64_MAX) {
            uint64_t wait = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000ull);
            ts.tv_nsec = (long)(wait % 1000000000ull);
            tsp = &ts;
        }
        int n = ppoll(pfd, 2, tsp, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("ppoll");
            break;
        }
        now = now_ns();
        if (pfd[0].revents & POLLIN) read_side(&ab, now);
        if (pfd[1].revents & POLLIN) read_side(&ba, now);
        if ((pfd[0].revents | pfd[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) {
            fprintf(stderr, "wanem: a TUN device went away\n");
            break;
        }
    }
    dump(&ab);
    dump(&ba);
    return 0;
}
