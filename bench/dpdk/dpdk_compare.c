/*
 * The DPDK side of bench/compare-dpdk.sh: times rte_lpm, rte_lpm6, rte_hash and rte_acl on the
 * files that `MetalAgent.Benchmarks -- export-data DIR` writes (the same route sets, keys, rule
 * sets and traces as our BenchmarkDotNet benchmarks), and prints one line per measurement:
 *
 *   RESULT <tab> <set>.<operation> <tab> <variant> <tab> <on-CPU ns/op> <tab> <wall ns/op> <tab> <checksum> <tab> <ops>
 *
 * The C# runner (`-- compare-dpdk DIR`) prints the same lines for our tables; the checksum is the
 * 64-bit sum of every 32-bit answer (a miss counts as 0xFFFFFFFF), so equal checksums mean both
 * sides gave the same answers to the same questions.
 *
 * Timing, the same on both sides: a lookup round is one pass over the key stream; 2 warm-up rounds,
 * then the best of 7 rounds, in on-CPU time of this thread (CLOCK_THREAD_CPUTIME_ID, which leaves
 * out other processes' time slices on a shared machine) and in wall time. A build is timed from
 * nothing to a usable table (create + add every entry + build), repeated while fewer than 4 runs and
 * less than 3 s of wall time were spent, and the best run is reported.
 *
 * Usage: dpdk-compare <EAL args> -- --data DIR [--only set1,set2,...] [--rte-lpm-max-routes N]
 *
 * Besides the libraries the issue names, the IPv4 and IPv6 sets also run through rte_fib / rte_fib6
 * (DPDK's newer FIB: same lookup structures, a tree control plane, AVX-512 bulk lookups), so the
 * comparison is with DPDK's best for each job. --rte-lpm-max-routes skips rte_lpm for bigger sets,
 * whose build is quadratic (see run_lpm4).
 */
#define _GNU_SOURCE
#define ALLOW_EXPERIMENTAL_API /* rte_vect_get_max_simd_bitwidth */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <immintrin.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_memory.h>
#include <rte_vect.h>
#include <rte_version.h>

#define MISS UINT32_MAX
#define WARMUP_ROUNDS 2
#define MEASURED_ROUNDS 7
#define BUILD_MAX_RUNS 4
#define BUILD_BUDGET_NS 3e9
#define LPM_BURST 64   /* LpmBenchmarks.Batched / Lpm6Benchmarks.Batched */
#define EXACT_BURST 64 /* ExactMatchBenchmarks.Batched */
#define FLOW_BURST 32  /* FlowTableBenchmarks.BurstTwoPass32 */

static const char *g_dir = ".";
static const char *g_only;
static size_t g_rte_lpm_max_routes = SIZE_MAX;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "dpdk-compare: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Whether a set is selected by --only (a comma-separated list of set names). */
static int selected(const char *set)
{
	if (g_only == NULL)
		return 1;
	size_t len = strlen(set);
	for (const char *p = g_only; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, set, n) == 0)
			return 1;
		p += n + (end ? 1 : 0);
	}
	return 0;
}

/* Reads DIR/name, an array of fixed-size records. */
static void *load(const char *name, size_t record, size_t *count)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("cannot open %s: %s (run the export first)", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0)
		die("cannot seek %s", path);
	long size = ftell(f);
	rewind(f);
	if (size < 0 || (size_t)size % record != 0)
		die("%s: size %ld is not a multiple of %zu", path, size, record);
	void *data = malloc(size > 0 ? (size_t)size : 1);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size)
		die("cannot read %s", path);
	fclose(f);
	*count = (size_t)size / record;
	return data;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void result(const char *set, const char *op, const char *variant, double cpu_ns, double wall_ns,
		   uint64_t checksum, size_t ops)
{
	printf("RESULT\t%s.%s\t%s\t%.3f\t%.3f\t%016" PRIx64 "\t%zu\n", set, op, variant, cpu_ns, wall_ns,
	       checksum, ops);
	fflush(stdout);
}

/* One pass over a key stream, writing one 32-bit answer per key (MISS when none). */
typedef void (*pass_fn)(void *ctx, uint32_t *results);

static uint64_t checksum(const uint32_t *results, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += results[i];
	return sum;
}

static void time_lookup(const char *set, const char *op, const char *variant, pass_fn pass, void *ctx,
			uint32_t *results, size_t n)
{
	for (int i = 0; i < WARMUP_ROUNDS; i++)
		pass(ctx, results);
	uint64_t expected = checksum(results, n);
	double best_cpu = INFINITY, best_wall = INFINITY;
	for (int r = 0; r < MEASURED_ROUNDS; r++) {
		memset(results, 0, n * sizeof(*results));
		double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID), w0 = now_ns(CLOCK_MONOTONIC);
		pass(ctx, results);
		double w1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		best_cpu = fmin(best_cpu, c1 - c0);
		best_wall = fmin(best_wall, w1 - w0);
		if (checksum(results, n) != expected)
			die("%s.%s %s: answers differ between rounds", set, op, variant);
	}
	result(set, op, variant, best_cpu / (double)n, best_wall / (double)n, expected, n);
}

typedef void *(*build_fn)(void *ctx);
typedef void (*free_fn)(void *table);

/* Times build() as described at the top; returns the table of the last run. */
static void *time_build(const char *set, const char *variant, build_fn build, free_fn release, void *ctx)
{
	double best_cpu = INFINITY, best_wall = INFINITY, spent = 0;
	void *table = NULL;
	int runs = 0;
	do {
		if (table != NULL)
			release(table);
		double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID), w0 = now_ns(CLOCK_MONOTONIC);
		table = build(ctx);
		double w1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		best_cpu = fmin(best_cpu, c1 - c0);
		best_wall = fmin(best_wall, w1 - w0);
		spent += w1 - w0;
		runs++;
	} while (runs < BUILD_MAX_RUNS && spent < BUILD_BUDGET_NS);
	result(set, "build", variant, best_cpu, best_wall, 0, 1);
	return table;
}

/* ---------------------------------------------------------------- rte_lpm */

struct lpm4_route {
	uint32_t prefix; /* host order */
	uint32_t depth;
	uint32_t value;
};

struct lpm4_ctx {
	const char *set;
	struct lpm4_route *routes;
	size_t nroutes;
	uint32_t tbl8s;
	uint32_t *keys; /* host order */
	size_t nkeys;
	struct rte_lpm *lpm;
	struct rte_fib *fib;
};

/* rte_fib's default next hop must fit its 4-byte entries (31 bits); it stands for MISS. */
#define FIB_NO_ROUTE 0x7FFFFFFFu

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void *lpm4_build(void *p)
{
	struct lpm4_ctx *c = p;
	struct rte_lpm_config config = { .max_rules = (uint32_t)c->nroutes, .number_tbl8s = c->tbl8s };
	struct rte_lpm *lpm = rte_lpm_create(c->set, SOCKET_ID_ANY, &config);
	if (lpm == NULL)
		die("rte_lpm_create %s: %s", c->set, rte_strerror(rte_errno));
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct lpm4_route *r = &c->routes[i];
		int rc = rte_lpm_add(lpm, r->prefix, (uint8_t)r->depth, r->value);
		if (rc < 0)
			die("rte_lpm_add %s route %zu: %s", c->set, i, rte_strerror(-rc));
	}
	return lpm;
}

static void lpm4_free(void *t) { rte_lpm_free(t); }

static void lpm4_single(void *p, uint32_t *results)
{
	struct lpm4_ctx *c = p;
	const struct rte_lpm *lpm = c->lpm;
	for (size_t i = 0; i < c->nkeys; i++) {
		uint32_t hop;
		results[i] = rte_lpm_lookup(lpm, c->keys[i], &hop) == 0 ? hop : MISS;
	}
}

static void lpm4_bulk(void *p, uint32_t *results)
{
	struct lpm4_ctx *c = p;
	const struct rte_lpm *lpm = c->lpm;
	for (size_t i = 0; i < c->nkeys; i += LPM_BURST) {
		unsigned n = (unsigned)RTE_MIN((size_t)LPM_BURST, c->nkeys - i);
		uint32_t *out = results + i;
		rte_lpm_lookup_bulk(lpm, c->keys + i, out, n);
		for (unsigned j = 0; j < n; j++)
			out[j] = (out[j] & RTE_LPM_LOOKUP_SUCCESS) ? (out[j] & 0x00FFFFFF) : MISS;
	}
}

/* rte_lpm_lookupx4: four lookups at once with SSE, as l3fwd uses it. */
static void lpm4_x4(void *p, uint32_t *results)
{
	struct lpm4_ctx *c = p;
	const struct rte_lpm *lpm = c->lpm;
	size_t i = 0;
	for (; i + 4 <= c->nkeys; i += 4)
		rte_lpm_lookupx4(lpm, _mm_loadu_si128((const __m128i *)(c->keys + i)), results + i, MISS);
	for (; i < c->nkeys; i++) {
		uint32_t hop;
		results[i] = rte_lpm_lookup(lpm, c->keys[i], &hop) == 0 ? hop : MISS;
	}
}

/* rte_fib: the same DIR-24-8 lookup structure as rte_lpm, with a RIB (tree) control plane instead
 * of rte_lpm's rule array, and an AVX-512 bulk lookup. */
static void *fib4_build(void *p)
{
	struct lpm4_ctx *c = p;
	struct rte_fib_conf config = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = FIB_NO_ROUTE,
		.max_routes = (int)c->nroutes,
		.dir24_8 = { .nh_sz = RTE_FIB_DIR24_8_4B, .num_tbl8 = c->tbl8s },
	};
	struct rte_fib *fib = rte_fib_create(c->set, SOCKET_ID_ANY, &config);
	if (fib == NULL)
		die("rte_fib_create %s: %s", c->set, rte_strerror(rte_errno));
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct lpm4_route *r = &c->routes[i];
		int rc = rte_fib_add(fib, r->prefix, (uint8_t)r->depth, r->value);
		if (rc < 0)
			die("rte_fib_add %s route %zu: %s", c->set, i, rte_strerror(-rc));
	}
	return fib;
}

static void fib4_free(void *t) { rte_fib_free(t); }

static void fib4_bulk(void *p, uint32_t *results)
{
	struct lpm4_ctx *c = p;
	uint64_t hops[LPM_BURST];
	for (size_t i = 0; i < c->nkeys; i += LPM_BURST) {
		int n = (int)RTE_MIN((size_t)LPM_BURST, c->nkeys - i);
		rte_fib_lookup_bulk(c->fib, c->keys + i, hops, n);
		for (int j = 0; j < n; j++)
			results[i + j] = hops[j] == FIB_NO_ROUTE ? MISS : (uint32_t)hops[j];
	}
}

static void run_lpm4(const char *set)
{
	if (!selected(set))
		return;
	char name[256];
	struct lpm4_ctx c = { .set = set };
	snprintf(name, sizeof(name), "%s.routes", set);
	c.routes = load(name, sizeof(struct lpm4_route), &c.nroutes);
	snprintf(name, sizeof(name), "%s.keys", set);
	c.keys = load(name, sizeof(uint32_t), &c.nkeys);

	/* One tbl8 group for every /24 that holds a longer prefix, plus slack. */
	uint32_t *blocks = xcalloc(c.nroutes, sizeof(uint32_t));
	size_t nblocks = 0, distinct = 0;
	for (size_t i = 0; i < c.nroutes; i++)
		if (c.routes[i].depth > 24)
			blocks[nblocks++] = c.routes[i].prefix >> 8;
	qsort(blocks, nblocks, sizeof(uint32_t), cmp_u32);
	for (size_t i = 0; i < nblocks; i++)
		distinct += i == 0 || blocks[i] != blocks[i - 1];
	free(blocks);
	c.tbl8s = (uint32_t)(distinct + distinct / 4 + 256);
	printf("INFO\t%s: %zu routes, %zu lookups, %u tbl8 groups\n", set, c.nroutes, c.nkeys, c.tbl8s);
	uint32_t *results = xcalloc(c.nkeys, sizeof(uint32_t));

	if (c.nroutes <= g_rte_lpm_max_routes) {
		c.lpm = time_build(set, "rte_lpm_create+add", lpm4_build, lpm4_free, &c);
		time_lookup(set, "lookup", "rte_lpm_lookup", lpm4_single, &c, results, c.nkeys);
		time_lookup(set, "lookup_burst", "rte_lpm_lookup_bulk/64", lpm4_bulk, &c, results, c.nkeys);
		time_lookup(set, "lookup_burst", "rte_lpm_lookupx4", lpm4_x4, &c, results, c.nkeys);
		rte_lpm_free(c.lpm);
	} else {
		/* rte_lpm_add scans every rule of the same length (a linear rule array per length), so a
		 * build is quadratic: about 80 s of CPU for 1M routes on a 2.1 GHz Zen 5. */
		printf("INFO\t%s: rte_lpm skipped (more than --rte-lpm-max-routes %zu routes)\n", set, g_rte_lpm_max_routes);
	}

	c.fib = time_build(set, "rte_fib_create+add", fib4_build, fib4_free, &c);
	static const struct {
		enum rte_fib_lookup_type type;
		const char *name;
	} fib_types[] = {
		{ RTE_FIB_LOOKUP_DIR24_8_SCALAR_INLINE, "rte_fib_lookup_bulk/64 scalar" },
		{ RTE_FIB_LOOKUP_DIR24_8_VECTOR_AVX512, "rte_fib_lookup_bulk/64 avx512" },
	};
	for (size_t t = 0; t < RTE_DIM(fib_types); t++) {
		if (rte_fib_select_lookup(c.fib, fib_types[t].type) != 0) {
			printf("INFO\t%s: %s not available\n", set, fib_types[t].name);
			continue;
		}
		time_lookup(set, "lookup_burst", fib_types[t].name, fib4_bulk, &c, results, c.nkeys);
	}
	rte_fib_free(c.fib);
	free(results);
	free(c.routes);
	free(c.keys);
}

/* ---------------------------------------------------------------- rte_lpm6 */

struct lpm6_route {
	uint8_t prefix[16]; /* network order */
	uint32_t depth;
	uint32_t value;
};

struct lpm6_ctx {
	const char *set;
	struct lpm6_route *routes;
	size_t nroutes;
	uint32_t tbl8s;
	uint8_t (*keys)[16]; /* network order */
	size_t nkeys;
	struct rte_lpm6 *lpm;
	struct rte_fib6 *fib;
};

static int cmp_16(const void *a, const void *b) { return memcmp(a, b, 16); }

/* rte_lpm6 has a 24-bit first level and 8-bit levels below it: a route deeper than L bits (L = 24,
 * 32, ..., 120) needs the tbl8 group below its first L bits. Counts the distinct groups. */
static uint32_t lpm6_tbl8s_needed(const struct lpm6_route *routes, size_t n)
{
	uint8_t(*prefixes)[16] = xcalloc(n, 16);
	size_t total = 0;
	for (unsigned level = 24; level < 128; level += 8) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (routes[i].depth <= level)
				continue;
			memset(prefixes[m], 0, 16);
			memcpy(prefixes[m], routes[i].prefix, level / 8);
			m++;
		}
		qsort(prefixes, m, 16, cmp_16);
		for (size_t i = 0; i < m; i++)
			total += i == 0 || memcmp(prefixes[i], prefixes[i - 1], 16) != 0;
	}
	free(prefixes);
	return (uint32_t)(total + total / 8 + 256);
}

static void *lpm6_build(void *p)
{
	struct lpm6_ctx *c = p;
	struct rte_lpm6_config config = { .max_rules = (uint32_t)c->nroutes, .number_tbl8s = c->tbl8s };
	struct rte_lpm6 *lpm = rte_lpm6_create(c->set, SOCKET_ID_ANY, &config);
	if (lpm == NULL)
		die("rte_lpm6_create %s: %s", c->set, rte_strerror(rte_errno));
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct lpm6_route *r = &c->routes[i];
		int rc = rte_lpm6_add(lpm, r->prefix, (uint8_t)r->depth, r->value);
		if (rc < 0)
			die("rte_lpm6_add %s route %zu: %s", c->set, i, rte_strerror(-rc));
	}
	return lpm;
}

static void lpm6_free(void *t) { rte_lpm6_free(t); }

static void lpm6_single(void *p, uint32_t *results)
{
	struct lpm6_ctx *c = p;
	const struct rte_lpm6 *lpm = c->lpm;
	for (size_t i = 0; i < c->nkeys; i++) {
		uint32_t hop;
		results[i] = rte_lpm6_lookup(lpm, c->keys[i], &hop) == 0 ? hop : MISS;
	}
}

static void lpm6_bulk(void *p, uint32_t *results)
{
	struct lpm6_ctx *c = p;
	const struct rte_lpm6 *lpm = c->lpm;
	for (size_t i = 0; i < c->nkeys; i += LPM_BURST) {
		unsigned n = (unsigned)RTE_MIN((size_t)LPM_BURST, c->nkeys - i);
		/* Misses come back as -1, which is MISS as a uint32_t. */
		rte_lpm6_lookup_bulk_func(lpm, c->keys + i, (int32_t *)(results + i), n);
	}
}

/* rte_fib6: a trie with the same 24-bit first level and 8-bit levels, a RIB control plane and an
 * AVX-512 bulk lookup. */
/* Builds the FIB, or returns NULL when it ran out of tbl8 groups. */
static struct rte_fib6 *fib6_try_build(struct lpm6_ctx *c)
{
	struct rte_fib6_conf config = {
		.type = RTE_FIB6_TRIE,
		.default_nh = FIB_NO_ROUTE,
		.max_routes = (int)c->nroutes,
		.trie = { .nh_sz = RTE_FIB6_TRIE_4B, .num_tbl8 = c->tbl8s },
	};
	struct rte_fib6 *fib = rte_fib6_create(c->set, SOCKET_ID_ANY, &config);
	if (fib == NULL)
		die("rte_fib6_create %s: %s", c->set, rte_strerror(rte_errno));
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct lpm6_route *r = &c->routes[i];
		int rc = rte_fib6_add(fib, r->prefix, (uint8_t)r->depth, r->value);
		if (rc == -ENOSPC) {
			rte_fib6_free(fib);
			return NULL;
		}
		if (rc < 0)
			die("rte_fib6_add %s route %zu: %s", c->set, i, rte_strerror(-rc));
	}
	return fib;
}

static void *fib6_build(void *p)
{
	struct rte_fib6 *fib = fib6_try_build(p);
	if (fib == NULL)
		die("rte_fib6_add: out of tbl8 groups");
	return fib;
}

static void fib6_free(void *t) { rte_fib6_free(t); }

static void fib6_bulk(void *p, uint32_t *results)
{
	struct lpm6_ctx *c = p;
	uint64_t hops[LPM_BURST];
	for (size_t i = 0; i < c->nkeys; i += LPM_BURST) {
		int n = (int)RTE_MIN((size_t)LPM_BURST, c->nkeys - i);
		rte_fib6_lookup_bulk(c->fib, c->keys + i, hops, n);
		for (int j = 0; j < n; j++)
			results[i + j] = hops[j] == FIB_NO_ROUTE ? MISS : (uint32_t)hops[j];
	}
}

static void run_lpm6(const char *set)
{
	if (!selected(set))
		return;
	char name[256];
	struct lpm6_ctx c = { .set = set };
	snprintf(name, sizeof(name), "%s.routes", set);
	c.routes = load(name, sizeof(struct lpm6_route), &c.nroutes);
	snprintf(name, sizeof(name), "%s.keys", set);
	c.keys = load(name, 16, &c.nkeys);
	c.tbl8s = lpm6_tbl8s_needed(c.routes, c.nroutes);
	printf("INFO\t%s: %zu routes, %zu lookups, %u tbl8 groups\n", set, c.nroutes, c.nkeys, c.tbl8s);

	c.lpm = time_build(set, "rte_lpm6_create+add", lpm6_build, lpm6_free, &c);
	uint32_t *results = xcalloc(c.nkeys, sizeof(uint32_t));
	time_lookup(set, "lookup", "rte_lpm6_lookup", lpm6_single, &c, results, c.nkeys);
	time_lookup(set, "lookup_burst", "rte_lpm6_lookup_bulk_func/64", lpm6_bulk, &c, results, c.nkeys);
	rte_lpm6_free(c.lpm);

	/* The trie allocates tbl8 groups differently from rte_lpm6: find how many it needs, untimed. */
	struct rte_fib6 *probe;
	while ((probe = fib6_try_build(&c)) == NULL)
		c.tbl8s *= 2;
	rte_fib6_free(probe);
	printf("INFO\t%s: rte_fib6 with %u tbl8 groups\n", set, c.tbl8s);
	c.fib = time_build(set, "rte_fib6_create+add", fib6_build, fib6_free, &c);
	static const struct {
		enum rte_fib6_lookup_type type;
		const char *name;
	} fib_types[] = {
		{ RTE_FIB6_LOOKUP_TRIE_SCALAR, "rte_fib6_lookup_bulk/64 scalar" },
		{ RTE_FIB6_LOOKUP_TRIE_VECTOR_AVX512, "rte_fib6_lookup_bulk/64 avx512" },
	};
	for (size_t t = 0; t < RTE_DIM(fib_types); t++) {
		if (rte_fib6_select_lookup(c.fib, fib_types[t].type) != 0) {
			printf("INFO\t%s: %s not available\n", set, fib_types[t].name);
			continue;
		}
		time_lookup(set, "lookup_burst", fib_types[t].name, fib6_bulk, &c, results, c.nkeys);
	}
	rte_fib6_free(c.fib);
	free(results);
	free(c.routes);
	free(c.keys);
}

/* ---------------------------------------------------------------- rte_hash */

struct hash_ctx {
	const char *set;
	uint32_t key_len;
	uint8_t *entry_keys; /* nentries keys of key_len bytes */
	uint32_t *entry_values;
	size_t nentries;
	uint8_t *keys; /* the lookup stream */
	const void **key_ptrs;
	size_t nkeys;
	unsigned burst;
	struct rte_hash *h;
};

static void *hash_build(void *p)
{
	struct hash_ctx *c = p;
	struct rte_hash_parameters params = {
		.name = c->set,
		/* Twice the keys: the load of our ExactTable (<= 0.75, here 0.5) and of FlowTable's buckets. */
		.entries = rte_align32pow2((uint32_t)(2 * c->nentries)),
		.key_len = c->key_len,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0,
		.socket_id = (int)rte_socket_id(),
	};
	struct rte_hash *h = rte_hash_create(&params);
	if (h == NULL)
		die("rte_hash_create %s: %s", c->set, rte_strerror(rte_errno));
	for (size_t i = 0; i < c->nentries; i++) {
		int rc = rte_hash_add_key_data(h, c->entry_keys + i * c->key_len,
					       (void *)(uintptr_t)c->entry_values[i]);
		if (rc < 0)
			die("rte_hash_add_key_data %s entry %zu: %s", c->set, i, rte_strerror(-rc));
	}
	return h;
}

static void hash_free(void *t) { rte_hash_free(t); }

static void hash_single(void *p, uint32_t *results)
{
	struct hash_ctx *c = p;
	const struct rte_hash *h = c->h;
	for (size_t i = 0; i < c->nkeys; i++) {
		void *data;
		results[i] = rte_hash_lookup_data(h, c->keys + i * c->key_len, &data) >= 0
				     ? (uint32_t)(uintptr_t)data
				     : MISS;
	}
}

static void hash_bulk(void *p, uint32_t *results)
{
	struct hash_ctx *c = p;
	const struct rte_hash *h = c->h;
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	for (size_t i = 0; i < c->nkeys; i += c->burst) {
		uint32_t n = (uint32_t)RTE_MIN((size_t)c->burst, c->nkeys - i);
		uint64_t hits = 0;
		rte_hash_lookup_bulk_data(h, c->key_ptrs + i, n, &hits, data);
		for (uint32_t j = 0; j < n; j++)
			results[i + j] = (hits >> j) & 1 ? (uint32_t)(uintptr_t)data[j] : MISS;
	}
}

static void run_hash(struct hash_ctx *c)
{
	c->key_ptrs = xcalloc(c->nkeys, sizeof(void *));
	for (size_t i = 0; i < c->nkeys; i++)
		c->key_ptrs[i] = c->keys + i * c->key_len;
	printf("INFO\t%s: %zu keys of %u bytes in rte_hash (crc), %zu lookups, bursts of %u\n", c->set,
	       c->nentries, c->key_len, c->nkeys, c->burst);
	c->h = time_build(c->set, "rte_hash_create+add", hash_build, hash_free, c);
	uint32_t *results = xcalloc(c->nkeys, sizeof(uint32_t));
	char variant[64];
	time_lookup(c->set, "lookup", "rte_hash_lookup_data", hash_single, c, results, c->nkeys);
	snprintf(variant, sizeof(variant), "rte_hash_lookup_bulk_data/%u", c->burst);
	time_lookup(c->set, "lookup_burst", variant, hash_bulk, c, results, c->nkeys);
	rte_hash_free(c->h);
	free(results);
	free(c->key_ptrs);
}

/* (VNI, address) keys of ExactMatchBenchmarks: 24 bytes of key, zero-padded to 32 so rte_hash uses
 * its vector compare for 32-byte keys (it has none for 24). */
static void run_exact(const char *set)
{
	if (!selected(set))
		return;
	enum { KEY = 32 };
	struct exact_entry {
		uint8_t key[KEY];
		uint32_t value;
		uint32_t pad;
	};
	char name[256];
	size_t n;
	snprintf(name, sizeof(name), "%s.entries", set);
	struct exact_entry *entries = load(name, sizeof(struct exact_entry), &n);
	struct hash_ctx c = { .set = set, .key_len = KEY, .nentries = n, .burst = EXACT_BURST };
	c.entry_keys = xcalloc(n, KEY);
	c.entry_values = xcalloc(n, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		memcpy(c.entry_keys + i * KEY, entries[i].key, KEY);
		c.entry_values[i] = entries[i].value;
	}
	free(entries);
	snprintf(name, sizeof(name), "%s.keys", set);
	c.keys = load(name, KEY, &c.nkeys);
	run_hash(&c);
	free(c.entry_keys);
	free(c.entry_values);
	free(c.keys);
}

/* Flows of FlowTableBenchmarks: 48-byte FlowKey (5-tuple, IP version and zone/VNI), both directions
 * of each flow as keys; the value is flow id * 2 + direction. */
static void run_flow(const char *set)
{
	if (!selected(set))
		return;
	enum { KEY = 48 };
	char name[256];
	size_t nflows;
	snprintf(name, sizeof(name), "%s.flows", set);
	uint8_t *flows = load(name, 2 * KEY, &nflows);
	struct hash_ctx c = { .set = set, .key_len = KEY, .nentries = 2 * nflows, .burst = FLOW_BURST };
	c.entry_keys = flows; /* forward, reply, forward, reply, ...: key i is flow i / 2, direction i % 2 */
	c.entry_values = xcalloc(c.nentries, sizeof(uint32_t));
	for (size_t i = 0; i < c.nentries; i++)
		c.entry_values[i] = (uint32_t)i;
	snprintf(name, sizeof(name), "%s.keys", set);
	c.keys = load(name, KEY, &c.nkeys);
	run_hash(&c);
	free(flows);
	free(c.entry_values);
	free(c.keys);
}

/* ---------------------------------------------------------------- rte_acl */

struct acl_rule_record {
	uint32_t src, dst;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	uint8_t src_len, dst_len, proto, proto_mask;
};

struct acl_trace_record {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto, pad[3];
};

/* The input layout of DPDK's own test-acl and l3fwd-acl: the first field must be one byte. Every
 * field is in network order, as in a packet. */
struct ipv4_5tuple {
	uint8_t proto;
	uint32_t ip_src;
	uint32_t ip_dst;
	uint16_t port_src;
	uint16_t port_dst;
};

RTE_ACL_RULE_DEF(acl4_rule, 5);

static const struct rte_acl_field_def acl4_defs[5] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = 0, .input_index = 0,
	  .offset = offsetof(struct ipv4_5tuple, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = 1, .input_index = 1,
	  .offset = offsetof(struct ipv4_5tuple, ip_src) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = 2, .input_index = 2,
	  .offset = offsetof(struct ipv4_5tuple, ip_dst) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 3, .input_index = 3,
	  .offset = offsetof(struct ipv4_5tuple, port_src) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 4, .input_index = 3,
	  .offset = offsetof(struct ipv4_5tuple, port_dst) },
};

struct acl_ctx {
	const char *set;
	struct acl4_rule *rules;
	size_t nrules;
	const uint8_t **data;
	size_t nkeys;
	enum rte_acl_classify_alg alg;
	struct rte_acl_ctx *acl;
};

static void *acl_build(void *p)
{
	struct acl_ctx *c = p;
	struct rte_acl_param param = {
		.name = c->set,
		.socket_id = SOCKET_ID_ANY,
		.rule_size = RTE_ACL_RULE_SZ(RTE_DIM(acl4_defs)),
		.max_rule_num = (uint32_t)c->nrules,
	};
	struct rte_acl_ctx *acl = rte_acl_create(&param);
	if (acl == NULL)
		die("rte_acl_create %s: %s", c->set, rte_strerror(rte_errno));
	int rc = rte_acl_add_rules(acl, (const struct rte_acl_rule *)c->rules, (uint32_t)c->nrules);
	if (rc != 0)
		die("rte_acl_add_rules %s: %s", c->set, rte_strerror(-rc));
	struct rte_acl_config config = { .num_categories = 1, .num_fields = RTE_DIM(acl4_defs), .max_size = 0 };
	memcpy(config.defs, acl4_defs, sizeof(acl4_defs));
	rc = rte_acl_build(acl, &config);
	if (rc != 0)
		die("rte_acl_build %s: %s", c->set, rte_strerror(-rc));
	return acl;
}

static void acl_free(void *t) { rte_acl_free(t); }

static void acl_classify(void *p, uint32_t *results)
{
	struct acl_ctx *c = p;
	int rc = rte_acl_classify_alg(c->acl, c->data, results, (uint32_t)c->nkeys, 1, c->alg);
	if (rc != 0)
		die("rte_acl_classify_alg %s: %s", c->set, rte_strerror(-rc));
	/* userdata is rule index + 1 and 0 means no match: back to the rule index (MISS when none). */
	for (size_t i = 0; i < c->nkeys; i++)
		results[i] -= 1;
}

static void run_acl(const char *set)
{
	if (!selected(set))
		return;
	char name[256];
	size_t nrules, nkeys;
	snprintf(name, sizeof(name), "%s.rules", set);
	struct acl_rule_record *records = load(name, sizeof(struct acl_rule_record), &nrules);
	snprintf(name, sizeof(name), "%s.trace", set);
	struct acl_trace_record *trace = load(name, sizeof(struct acl_trace_record), &nkeys);

	struct acl_ctx c = { .set = set, .nrules = nrules, .nkeys = nkeys };
	c.rules = xcalloc(nrules, sizeof(struct acl4_rule));
	for (size_t i = 0; i < nrules; i++) {
		const struct acl_rule_record *r = &records[i];
		struct acl4_rule *a = &c.rules[i];
		a->data.category_mask = 1;
		/* ClassBench: the first line wins; rte_acl: the highest priority wins. */
		a->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		a->data.userdata = (uint32_t)(i + 1);
		a->field[0].value.u8 = r->proto;
		a->field[0].mask_range.u8 = r->proto_mask;
		a->field[1].value.u32 = r->src;
		a->field[1].mask_range.u32 = r->src_len;
		a->field[2].value.u32 = r->dst;
		a->field[2].mask_range.u32 = r->dst_len;
		a->field[3].value.u16 = r->sport_lo;
		a->field[3].mask_range.u16 = r->sport_hi;
		a->field[4].value.u16 = r->dport_lo;
		a->field[4].mask_range.u16 = r->dport_hi;
	}
	free(records);
	struct ipv4_5tuple *tuples = xcalloc(nkeys, sizeof(struct ipv4_5tuple));
	c.data = xcalloc(nkeys, sizeof(uint8_t *));
	for (size_t i = 0; i < nkeys; i++) {
		tuples[i].proto = trace[i].proto;
		tuples[i].ip_src = rte_cpu_to_be_32(trace[i].src);
		tuples[i].ip_dst = rte_cpu_to_be_32(trace[i].dst);
		tuples[i].port_src = rte_cpu_to_be_16(trace[i].sport);
		tuples[i].port_dst = rte_cpu_to_be_16(trace[i].dport);
		c.data[i] = (const uint8_t *)&tuples[i];
	}
	free(trace);
	printf("INFO\t%s: %zu rules, %zu trace headers\n", set, nrules, nkeys);

	c.acl = time_build(set, "rte_acl_create+add+build", acl_build, acl_free, &c);
	uint32_t *results = xcalloc(nkeys, sizeof(uint32_t));
	static const struct {
		enum rte_acl_classify_alg alg;
		const char *name;
	} algs[] = {
		{ RTE_ACL_CLASSIFY_SSE, "rte_acl/sse" },
		{ RTE_ACL_CLASSIFY_AVX2, "rte_acl/avx2" },
		{ RTE_ACL_CLASSIFY_AVX512X16, "rte_acl/avx512x16" },
		{ RTE_ACL_CLASSIFY_AVX512X32, "rte_acl/avx512x32" },
	};
	for (size_t a = 0; a < RTE_DIM(algs); a++) {
		/* Skips what this CPU or EAL's SIMD width (--force-max-simd-bitwidth) does not allow. */
		if (rte_acl_set_ctx_classify(c.acl, algs[a].alg) != 0) {
			printf("INFO\t%s: %s not available\n", set, algs[a].name);
			continue;
		}
		c.alg = algs[a].alg;
		time_lookup(set, "lookup_burst", algs[a].name, acl_classify, &c, results, nkeys);
	}
	rte_acl_free(c.acl);
	free(results);
	free(c.rules);
	free(c.data);
	free(tuples);
}

int main(int argc, char **argv)
{
	int consumed = rte_eal_init(argc, argv);
	if (consumed < 0)
		die("rte_eal_init: %s", rte_strerror(rte_errno));
	argc -= consumed;
	argv += consumed;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			g_dir = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			g_only = argv[++i];
		else if (strcmp(argv[i], "--rte-lpm-max-routes") == 0 && i + 1 < argc)
			g_rte_lpm_max_routes = strtoull(argv[++i], NULL, 10);
		else
			die("usage: dpdk-compare <EAL args> -- --data DIR [--only set1,set2,...] [--rte-lpm-max-routes N]");
	}
	printf("INFO\tDPDK %s, lcore %u, hugepages %s, max SIMD bitwidth %u\n", rte_version(), rte_lcore_id(),
	       rte_eal_has_hugepages() ? "yes" : "no (--no-huge: 4 KiB pages)", rte_vect_get_max_simd_bitwidth());

	run_lpm4("lpm4_1k");
	run_lpm4("lpm4_1m");
	run_lpm6("lpm6_1k");
	run_lpm6("lpm6_100k");
	run_exact("exact_1m");
	run_flow("flow_1m");
	run_acl("acl1_10k");
	run_acl("fw1_10k");
	run_acl("ipc1_10k");

	rte_eal_cleanup();
	return 0;
}
