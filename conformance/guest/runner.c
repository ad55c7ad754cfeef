/*
 * runner.c - pagemig's scenario runner for a real Linux kernel.
 *
 * Runs the portable subset of the scenario language (docs/scenarios.md) with
 * raw system calls and prints one JSON record per step on stdout; the record
 * format is docs/conformance.md.  It runs inside the QEMU guest's initramfs
 * and on the host alike.
 *
 *   runner -l FILE...               parse only: errors as FILE:LINE: message
 *   runner [-m DIR] [-c CPU] FILE... run each file in a fresh forked process
 *
 * -m DIR: unshare the mount namespace and mount tmpfs on DIR/tmp and ramfs on
 * DIR/ramfs; scenario paths /tmp/X and /ramfs/X then live there (the host).
 * -c CPU: the CPU the scenario process (machine commands, files) runs on.
 *
 * Processes.  The scenario process ("master") runs machine commands and
 * forks every `spawn`ed process; a process forks its own `fork` children.
 * Each process waits for step numbers on its own command pipe and answers
 * through a result area in a MAP_SHARED page, so the master prints every
 * record.  The master, which is root, then asks where the step's pages are
 * (move_pages with nodes=NULL on the process that maps them).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define PAGE 4096UL
#define MAX_PROCS 16
#define MAX_REGIONS 64
#define MAX_FILES 16
#define MAX_CPUSETS 16
#define MAX_STEPS 1024
#define MAX_SPECS 32
#define MAX_WORDS 32
#define MAX_PAGES 65536           /* pages named by one step */
#define MASK_LONGS 16             /* node masks of 1024 bits */
#define MAXNODE (MASK_LONGS * 64 + 1)
#define REGION_BASE 0x100000000000UL
#define UNMAPPED_ADDR 0x200000000000UL
#define BADPID 999999999L
#define SENTINEL (-7777)
#define FILL_CONST(b) (-2 - (int)(b))     /* generation tables: const=B ... */
#define FILL_BYTE(g) (-2 - (g))           /* ... and back; -1 is "not written here" */
#define STEP_TIMEOUT_MS 120000

#define MPOL_MF_STRICT 1
#define MPOL_MF_MOVE 2
#define MPOL_MF_MOVE_ALL 4

/* ---------------------------------------------------------------- program */

enum op {
	OP_MACHINE, OP_FILE, OP_SPAWN, OP_CPUSET, OP_KSM_MERGE, OP_WHERE,
	OP_MAP, OP_WRITE, OP_TOUCH, OP_CHECK, OP_FORK, OP_EXIT, OP_SETUID,
	OP_SETEUID, OP_DUMPABLE, OP_ATTACH, OP_MLOCK, OP_MUNLOCK, OP_MERGEABLE,
	OP_MUNMAP, OP_MPROTECT, OP_PIN, OP_UNPIN, OP_SET_MEMPOLICY, OP_QUERY,
	OP_MOVE, OP_MIGRATE, OP_MBIND,
};

enum kind { K_ANON, K_SHMEM, K_FILE };
enum spec_kind { S_RANGE, S_ADDR, S_UNMAPPED, S_NULL };
enum target_kind { T_SELF, T_PROC, T_PID, T_BADPID };

struct spec {
	int kind, region;
	long first, last;
	unsigned long addr;
};

struct pages {
	int n;
	struct spec s[MAX_SPECS];
};

struct target {
	int kind, proc;
	long pid;
};

struct step {
	int line, op, actor;
	char cmd[512];
	struct pages pages;
	struct target target;
	int nnodes, *nodes;                  /* move: one node, or one per page */
	unsigned long mask[2][MASK_LONGS];   /* nodes (0), or migrate's old (0) and new (1) */
	int has_mask;
	long num, flags, count;              /* count < 0: the number of pages */
	int index;                           /* the region/process/file/cpuset concerned */
	int gen, mode, prot, write, node;
};

struct region {
	char name[32];
	int kind, shared, file, prot, node;
	long pages;
	unsigned long addr;
	long gens;                           /* offset in the shared generation area, or -1 */
};

struct pfile {
	char path[256];
	int ramfs, gen;
	long pages, gens;
};

struct cpuset {
	char name[32];
	int parent;
};

struct prog {
	const char *path;
	int nodes, ncpus, last_spawn;
	int nsteps, nregions, nfiles, nprocs, ncpusets;
	long ngens;
	struct step steps[MAX_STEPS];
	struct region regions[MAX_REGIONS];
	struct pfile files[MAX_FILES];
	char procs[MAX_PROCS][32];
	int exited[MAX_PROCS];
	struct cpuset cpusets[MAX_CPUSETS];
};

/* ------------------------------------------------------------ run state */

struct result {
	long ret;
	int err, sig, n;
	char msg[256];
	int status[MAX_PAGES];
};

struct shared {                          /* MAP_SHARED: every process sees it */
	pid_t pid[MAX_PROCS];
	struct result res;
};

static struct prog *P;
static struct shared *S;
static int *sgens;                       /* generations of shared pages (shmem, files) */
static int *pgens[MAX_REGIONS];          /* this process's private generations */
static int cmd_fd[MAX_PROCS][2], ack_fd[MAX_PROCS][2];
static int pidfd[MAX_PROCS];
static int me = -1;                      /* this process's index; -1 in the master */
static const char *prefix = "";          /* where /tmp and /ramfs are (-m) */
static int master_cpu;
static char cgroot[256];
static int cg_v1;
static int ksm_saved;
static char ksm_old[3][16];             /* run, pages_to_scan, sleep_millisecs */
static const char *const ksm_knobs[3] = {"run", "pages_to_scan", "sleep_millisecs"};

struct pin { unsigned long addr; int fd[2]; };
static struct pin *pins;
static int npins;

/* --------------------------------------------------------------- errors */

static const char *errname(int e)
{
	static char buf[16];
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EHWPOISON: return "EHWPOISON";
	}
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

static const char *parse_file;
static int parse_line;
static int parse_errors;

static void perr(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: ", parse_file, parse_line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	parse_errors++;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "runner: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(errno));
	exit(3);
}

/* --------------------------------------------------------- small parsers */

static int parse_long(const char *s, long *out)
{
	char *end;
	if (!*s)
		return -1;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_size(const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	long mult = 1;
	if (end == s || v < 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': mult = 1L << 10; end++; break;
	case 'M': mult = 1L << 20; end++; break;
	case 'G': mult = 1L << 30; end++; break;
	case 'T': mult = 1L << 40; end++; break;
	default: return -1;
	}
	if (toupper((unsigned char)*end) == 'I')
		end++;
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end)
		return -1;
	*out = v * mult;
	return 0;
}

/* A comma list of ints and ranges ("0,2-3", "-1", "none"); returns the count. */
static int parse_int_list(const char *s, int *out, int max)
{
	int n = 0;
	char buf[512], *save, *item;
	if (!strcmp(s, "none"))
		return 0;
	snprintf(buf, sizeof buf, "%s", s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(item + 1, '-');
		long a, b;
		if (dash) {
			*dash = 0;
			if (parse_long(item, &a) || parse_long(dash + 1, &b) || a < 0 || b < a)
				return -1;
		} else if (parse_long(item, &a)) {
			return -1;
		} else {
			b = a;
		}
		for (long v = a; v <= b; v++) {
			if (n >= max || v > INT32_MAX || v < INT32_MIN)
				return -1;
			out[n++] = (int)v;
		}
	}
	return n;
}

static int parse_mask(const char *s, unsigned long *mask)
{
	int ids[1024];
	int n = parse_int_list(s, ids, 1024);
	memset(mask, 0, MASK_LONGS * sizeof *mask);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= MASK_LONGS * 64)
			return -1;
		mask[ids[i] / 64] |= 1UL << (ids[i] % 64);
	}
	return 0;
}

static int parse_flags(const char *s, long *out)
{
	char buf[128], *save, *item;
	long flags = 0, v;
	snprintf(buf, sizeof buf, "%s", s);
	for (item = strtok_r(buf, "|", &save); item; item = strtok_r(NULL, "|", &save)) {
		if (!strcmp(item, "MOVE"))
			flags |= MPOL_MF_MOVE;
		else if (!strcmp(item, "MOVE_ALL"))
			flags |= MPOL_MF_MOVE_ALL;
		else if (!strcmp(item, "STRICT"))
			flags |= MPOL_MF_STRICT;
		else if (!parse_long(item, &v))
			flags |= v;
		else
			return -1;
	}
	*out = flags;
	return 0;
}

static int parse_mode(const char *s, int *out)
{
	static const char *const names[] = {"default", "preferred", "bind", "interleave",
					    "local", "preferred_many"};
	char buf[64], *save, *item;
	int mode = -1;
	long v;
	snprintf(buf, sizeof buf, "%s", s);
	for (item = strtok_r(buf, "|", &save); item; item = strtok_r(NULL, "|", &save)) {
		int found = 0;
		for (int i = 0; i < 6; i++)
			if (!strcmp(item, names[i]))
				mode = i, found = 1;
		if (!strcmp(item, "static"))
			mode |= 1 << 15, found = 1;
		else if (!strcmp(item, "relative"))
			mode |= 1 << 14, found = 1;
		else if (!found && !parse_long(item, &v))
			mode = (int)v, found = 1;
		if (!found)
			return -1;
	}
	*out = mode;
	return mode < 0 ? -1 : 0;
}

static int parse_prot(const char *s)
{
	if (!strcmp(s, "none"))
		return PROT_NONE;
	if (!strcmp(s, "r"))
		return PROT_READ;
	if (!strcmp(s, "rw"))
		return PROT_READ | PROT_WRITE;
	return -1;
}

static int find_name(char (*names)[32], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int find_region(const char *s)
{
	for (int i = 0; i < P->nregions; i++)
		if (!strcmp(P->regions[i].name, s))
			return i;
	return -1;
}

static int find_cpuset(const char *s)
{
	for (int i = 0; i < P->ncpusets; i++)
		if (!strcmp(P->cpusets[i].name, s))
			return i;
	return -1;
}

static int find_file(const char *s)
{
	for (int i = 0; i < P->nfiles; i++)
		if (!strcmp(P->files[i].path, s))
			return i;
	return -1;
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) >= 32 || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* ------------------------------------------------------------ page lists */

static int parse_spec(const char *item, struct spec *sp)
{
	const char *colon = strchr(item, ':');
	char name[32];
	memset(sp, 0, sizeof *sp);
	if (!strcmp(item, "unmapped")) {
		sp->kind = S_UNMAPPED;
		return 0;
	}
	if (!strcmp(item, "null")) {
		sp->kind = S_NULL;
		return 0;
	}
	if (item[0] == '@') {
		char *end;
		sp->kind = S_ADDR;
		sp->addr = strtoul(item + 1, &end, 0);
		return *end || end == item + 1 ? -1 : 0;
	}
	if (!colon || colon - item >= 32) {
		perr("bad page '%s' (R:*, R:I, R:I-J, @0xADDR, unmapped or null)", item);
		return -1;
	}
	snprintf(name, sizeof name, "%.*s", (int)(colon - item), item);
	sp->kind = S_RANGE;
	sp->region = find_region(name);
	if (sp->region < 0) {
		perr("no region '%s' has been mapped before this line", name);
		return -1;
	}
	long pages = P->regions[sp->region].pages;
	const char *r = colon + 1;
	if (!strcmp(r, "*")) {
		sp->first = 0;
		sp->last = pages - 1;
		return 0;
	}
	char buf[64];
	snprintf(buf, sizeof buf, "%s", r);
	char *dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (parse_long(buf, &sp->first) || (dash && parse_long(dash + 1, &sp->last))) {
		perr("bad page index in '%s'", item);
		return -1;
	}
	if (!dash)
		sp->last = sp->first;
	if (sp->first < 0 || sp->last < sp->first || sp->last >= pages) {
		perr("'%s' is outside region %s (pages 0-%ld)", item, name, pages - 1);
		return -1;
	}
	return 0;
}

static long spec_count(const struct spec *sp)
{
	return sp->kind == S_RANGE ? sp->last - sp->first + 1 : 1;
}

static long pages_count(const struct pages *pl)
{
	long n = 0;
	for (int i = 0; i < pl->n; i++)
		n += spec_count(&pl->s[i]);
	return n;
}

static int parse_pages(const char *s, struct pages *pl)
{
	char buf[1024], *save, *item;
	pl->n = 0;
	snprintf(buf, sizeof buf, "%s", s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (pl->n >= MAX_SPECS) {
			perr("too many page items (at most %d)", MAX_SPECS);
			return -1;
		}
		if (parse_spec(item, &pl->s[pl->n]))
			return -1;
		pl->n++;
	}
	if (pl->n == 0 || pages_count(pl) > MAX_PAGES) {
		perr("a step names 1 to %d pages", MAX_PAGES);
		return -1;
	}
	return 0;
}

static unsigned long spec_addr(const struct spec *sp, long k)
{
	switch (sp->kind) {
	case S_RANGE: return P->regions[sp->region].addr + (sp->first + k) * PAGE;
	case S_ADDR: return sp->addr;
	case S_UNMAPPED: return UNMAPPED_ADDR;
	default: return 0;
	}
}

static long resolve(const struct pages *pl, unsigned long *out)
{
	long n = 0;
	for (int i = 0; i < pl->n; i++)
		for (long k = 0; k < spec_count(&pl->s[i]); k++)
			out[n++] = spec_addr(&pl->s[i], k);
	return n;
}

/* ------------------------------------------------------------ line parse */

struct words {
	int n, nopt;
	char *w[MAX_WORDS];
	char *key[MAX_WORDS], *val[MAX_WORDS];
};

static const char *opt(struct words *w, const char *key)
{
	for (int i = 0; i < w->nopt; i++)
		if (!strcmp(w->key[i], key))
			return w->val[i];
	return NULL;
}

static int check_opts(struct words *w, const char *const *allowed)
{
	for (int i = 0; i < w->nopt; i++) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(*a, w->key[i]);
		if (!ok) {
			perr("unknown option %s=", w->key[i]);
			return -1;
		}
	}
	return 0;
}

static int want_words(struct words *w, int lo, int hi, const char *usage)
{
	if (w->n < lo || w->n > hi) {
		perr("usage: %s", usage);
		return -1;
	}
	return 0;
}

static int opt_long(struct words *w, const char *key, long dflt, long *out)
{
	const char *v = opt(w, key);
	*out = dflt;
	if (v && parse_long(v, out)) {
		perr("%s=%s is not a number", key, v);
		return -1;
	}
	return 0;
}

static int parse_target(const char *s, struct target *t)
{
	memset(t, 0, sizeof *t);
	if (!strcmp(s, "self")) {
		t->kind = T_SELF;
	} else if (!strcmp(s, "badpid")) {
		t->kind = T_BADPID;
	} else if (!strncmp(s, "pid:", 4)) {
		t->kind = T_PID;
		if (parse_long(s + 4, &t->pid)) {
			perr("bad pid in '%s'", s);
			return -1;
		}
	} else {
		t->kind = T_PROC;
		t->proc = find_name(P->procs, P->nprocs, s);
		if (t->proc < 0) {
			perr("no process '%s' (self, NAME, pid:N or badpid)", s);
			return -1;
		}
	}
	return 0;
}

static int new_proc(const char *name)
{
	if (!valid_name(name) || find_name(P->procs, P->nprocs, name) >= 0 || P->nprocs >= MAX_PROCS) {
		perr("'%s': a process needs a new name (at most %d processes)", name, MAX_PROCS);
		return -1;
	}
	snprintf(P->procs[P->nprocs], 32, "%s", name);
	return P->nprocs++;
}

/* Parsers of each command: fill the step from the words, 0 or -1. */

static int p_machine(struct step *st, struct words *w)
{
	static const char *const o[] = {"nodes", "memory", "cpus", "distances", "swap", "profile",
					"min_free_kbytes", "seed", NULL};
	int cpus[64];
	long nodes;
	if (want_words(w, 0, 0, "machine nodes=N [memory=...] [cpus=...]") || check_opts(w, o) ||
	    opt_long(w, "nodes", 2, &nodes))
		return -1;
	if (st != &P->steps[0]) {
		perr("machine must be the first command");
		return -1;
	}
	if (nodes < 1 || nodes > 64) {
		perr("nodes=%ld: 1 to 64 nodes", nodes);
		return -1;
	}
	P->nodes = (int)nodes;
	P->ncpus = (int)nodes;
	if (opt(w, "cpus")) {
		int n = parse_int_list(opt(w, "cpus"), cpus, 64);
		if (n != 1 && n != nodes) {
			perr("cpus= is one count per node, or one count for every node");
			return -1;
		}
		P->ncpus = 0;
		for (int i = 0; i < nodes; i++)
			P->ncpus += cpus[n == 1 ? 0 : i];
	}
	return 0;
}

static int p_file(struct step *st, struct words *w)
{
	static const char *const o[] = {"fs", "size", "gen", NULL};
	const char *fs = opt(w, "fs");
	long size = 0, gen;
	if (want_words(w, 1, 1, "file PATH fs=tmpfs|ramfs [size=SIZE] [gen=G]") || check_opts(w, o) ||
	    opt_long(w, "gen", 1, &gen))
		return -1;
	if (!fs || (strcmp(fs, "tmpfs") && strcmp(fs, "ramfs"))) {
		perr("a real kernel runs file fs=tmpfs or fs=ramfs only");
		return -1;
	}
	const char *dir = strcmp(fs, "tmpfs") ? "/ramfs/" : "/tmp/";
	if (strncmp(w->w[0], dir, strlen(dir)) || strchr(w->w[0] + strlen(dir), '/') ||
	    strlen(w->w[0]) >= 200 || !w->w[0][strlen(dir)]) {
		perr("a %s file is a name directly under %s", fs, dir);
		return -1;
	}
	if (opt(w, "size") && parse_size(opt(w, "size"), &size)) {
		perr("bad size=%s", opt(w, "size"));
		return -1;
	}
	if (find_file(w->w[0]) >= 0 || P->nfiles >= MAX_FILES) {
		perr("file %s is created twice (or more than %d files)", w->w[0], MAX_FILES);
		return -1;
	}
	struct pfile *f = &P->files[P->nfiles];
	snprintf(f->path, sizeof f->path, "%s", w->w[0]);
	f->ramfs = !strcmp(fs, "ramfs");
	f->gen = (int)gen;
	f->pages = (size + PAGE - 1) / PAGE;
	f->gens = P->ngens;
	P->ngens += f->pages;
	st->index = P->nfiles++;
	return 0;
}

static int p_spawn(struct step *st, struct words *w)
{
	static const char *const o[] = {"uid", "gid", "cpu", NULL};
	long uid, gid, cpu;
	if (want_words(w, 1, 1, "spawn NAME [uid=U] [gid=G] [cpu=C]") || check_opts(w, o) ||
	    opt_long(w, "uid", 0, &uid) || opt_long(w, "gid", uid, &gid) || opt_long(w, "cpu", 0, &cpu))
		return -1;
	if (cpu < 0 || cpu >= P->ncpus) {
		perr("cpu=%ld: the machine has cpus 0-%d", cpu, P->ncpus - 1);
		return -1;
	}
	st->index = new_proc(w->w[0]);
	st->num = uid;
	st->flags = gid;
	st->node = (int)cpu;
	P->last_spawn = st->index;
	return st->index < 0 ? -1 : 0;
}

static int p_cpuset(struct step *st, struct words *w)
{
	static const char *const o[] = {"mems", "parent", NULL};
	const char *parent = opt(w, "parent");
	if (want_words(w, 1, 1, "cpuset NAME mems=LIST [parent=NAME]") || check_opts(w, o))
		return -1;
	if (!opt(w, "mems") || parse_mask(opt(w, "mems"), st->mask[0])) {
		perr("cpuset needs mems=LIST of node ids");
		return -1;
	}
	if (!valid_name(w->w[0]) || find_cpuset(w->w[0]) >= 0 || P->ncpusets >= MAX_CPUSETS) {
		perr("cpuset '%s' needs a new name", w->w[0]);
		return -1;
	}
	struct cpuset *cs = &P->cpusets[P->ncpusets];
	snprintf(cs->name, sizeof cs->name, "%s", w->w[0]);
	cs->parent = parent ? find_cpuset(parent) : -1;
	if (parent && cs->parent < 0) {
		perr("no cpuset '%s'", parent);
		return -1;
	}
	st->index = P->ncpusets++;
	return 0;
}

static int p_none(struct step *st, struct words *w)
{
	(void)st;
	return want_words(w, 0, 0, "a command without arguments") || check_opts(w, (const char *const[]){NULL});
}

static int p_pages(struct step *st, struct words *w)
{
	if (want_words(w, 1, 1, "COMMAND PAGES") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	return parse_pages(w->w[0], &st->pages);
}

static int p_map(struct step *st, struct words *w)
{
	static const char *const o[] = {"node", "path", "prot", "after", NULL};
	long n, node;
	int shared = -1;
	if (w->n < 3 || w->n > 4 || check_opts(w, o)) {
		perr("usage: map R anon|shmem|file N [node=N] [path=P] [private|shared] [prot=none|r|rw] "
		     "[after=R]");
		return -1;
	}
	if (w->n == 4) {
		if (strcmp(w->w[3], "private") && strcmp(w->w[3], "shared")) {
			perr("map: expected private or shared, got %s", w->w[3]);
			return -1;
		}
		shared = !strcmp(w->w[3], "shared");
	}
	if (!valid_name(w->w[0]) || find_region(w->w[0]) >= 0 || P->nregions >= MAX_REGIONS) {
		perr("region '%s' needs a new name (regions are global)", w->w[0]);
		return -1;
	}
	if (parse_long(w->w[2], &n) || n < 1 || n > MAX_PAGES || opt_long(w, "node", -1, &node)) {
		perr("map: bad page count %s", w->w[2]);
		return -1;
	}
	struct region *r = &P->regions[P->nregions];
	snprintf(r->name, sizeof r->name, "%s", w->w[0]);
	r->pages = n;
	r->node = (int)node;
	r->file = -1;
	r->gens = -1;
	r->prot = opt(w, "prot") ? parse_prot(opt(w, "prot")) : PROT_READ | PROT_WRITE;
	if (r->prot < 0) {
		perr("prot= is none, r or rw");
		return -1;
	}
	if (!strcmp(w->w[1], "anon")) {
		r->kind = K_ANON;
		r->shared = 0;
	} else if (!strcmp(w->w[1], "shmem")) {
		r->kind = K_SHMEM;
		r->shared = 1;
		r->gens = P->ngens;
		P->ngens += n;
	} else if (!strcmp(w->w[1], "file")) {
		r->kind = K_FILE;
		r->shared = shared != 0;
		r->file = opt(w, "path") ? find_file(opt(w, "path")) : -1;
		if (r->file < 0) {
			perr("map file needs path= of a file created by a `file` line");
			return -1;
		}
	} else if (!strcmp(w->w[1], "device")) {
		perr("device maps run on the model only");
		return -1;
	} else {
		perr("map kind is anon, shmem or file, not %s", w->w[1]);
		return -1;
	}
	/* Unique addresses, a gap between regions so that no two VMAs merge;
	 * after=R (R the last region mapped) puts this one right after R. */
	unsigned long next = REGION_BASE;
	if (opt(w, "after")) {
		if (!P->nregions || strcmp(opt(w, "after"), (r - 1)->name)) {
			perr("after=%s must name the last region mapped", opt(w, "after"));
			return -1;
		}
		next = (r - 1)->addr + (r - 1)->pages * PAGE;
	} else if (P->nregions) {
		struct region *prev = r - 1;
		next = prev->addr + (prev->pages + 16) * PAGE;
		next = (next + 0xffffUL) & ~0xffffUL;
	}
	r->addr = next;
	st->index = P->nregions++;
	return 0;
}

/* write PAGES [gen=G|const=B], check PAGES [gen=G]: st->gen is a fill
 * (FILL_CONST(B) for const=B), or -1 for check's "as last written". */
static int p_write(struct step *st, struct words *w)
{
	static const char *const ow[] = {"gen", "const", NULL}, *const oc[] = {"gen", NULL};
	long gen, byte;
	if (want_words(w, 1, 1, "write PAGES [gen=G|const=B] or check PAGES [gen=G]") ||
	    check_opts(w, st->op == OP_WRITE ? ow : oc) || opt_long(w, "gen", -1, &gen) ||
	    opt_long(w, "const", -1, &byte))
		return -1;
	if (gen < -1 || gen > INT32_MAX || byte < -1 || byte > 255 || (gen >= 0 && byte >= 0)) {
		perr("gen= is a generation (0: zeros), const= a byte 0-255; not both");
		return -1;
	}
	st->gen = byte >= 0 ? FILL_CONST(byte) : st->op == OP_WRITE && gen < 0 ? 1 : (int)gen;
	return parse_pages(w->w[0], &st->pages);
}

static int p_touch(struct step *st, struct words *w)
{
	if (want_words(w, 1, 2, "touch PAGES [read|write]") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	if (w->n == 2 && strcmp(w->w[1], "read") && strcmp(w->w[1], "write")) {
		perr("touch: read or write, not %s", w->w[1]);
		return -1;
	}
	st->write = w->n == 2 && !strcmp(w->w[1], "write");
	return parse_pages(w->w[0], &st->pages);
}

static int p_fork(struct step *st, struct words *w)
{
	if (want_words(w, 1, 1, "fork NAME") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	st->index = new_proc(w->w[0]);
	return st->index < 0 ? -1 : 0;
}

static int p_num(struct step *st, struct words *w)
{
	if (want_words(w, 1, 1, "setuid|seteuid|dumpable N") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	if (parse_long(w->w[0], &st->num) || st->num < 0) {
		perr("%s is not a number", w->w[0]);
		return -1;
	}
	return 0;
}

static int p_attach(struct step *st, struct words *w)
{
	if (want_words(w, 1, 1, "attach CPUSET") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	st->index = find_cpuset(w->w[0]);
	if (st->index < 0)
		perr("no cpuset '%s'", w->w[0]);
	return st->index < 0 ? -1 : 0;
}

static int p_mergeable(struct step *st, struct words *w)
{
	if (want_words(w, 1, 1, "mergeable R") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	st->index = find_region(w->w[0]);
	if (st->index < 0)
		perr("no region '%s'", w->w[0]);
	return st->index < 0 ? -1 : 0;
}

static int p_mprotect(struct step *st, struct words *w)
{
	if (want_words(w, 2, 2, "mprotect PAGES none|r|rw") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	st->prot = parse_prot(w->w[1]);
	if (st->prot < 0)
		perr("mprotect: none, r or rw");
	return st->prot < 0 ? -1 : parse_pages(w->w[0], &st->pages);
}

static int p_set_mempolicy(struct step *st, struct words *w)
{
	if (want_words(w, 1, 2, "set_mempolicy MODE [NODES]") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	if (parse_mode(w->w[0], &st->mode)) {
		perr("bad mode %s", w->w[0]);
		return -1;
	}
	st->has_mask = w->n == 2;
	if (st->has_mask && parse_mask(w->w[1], st->mask[0])) {
		perr("bad node list %s", w->w[1]);
		return -1;
	}
	return 0;
}

static int p_query(struct step *st, struct words *w)
{
	if (want_words(w, 2, 2, "query TARGET PAGES") || check_opts(w, (const char *const[]){NULL}))
		return -1;
	return parse_target(w->w[0], &st->target) || parse_pages(w->w[1], &st->pages);
}

static int p_move(struct step *st, struct words *w)
{
	static const char *const o[] = {"count", NULL};
	static int nodes[MAX_PAGES];
	if (want_words(w, 3, 4, "move TARGET PAGES NODES [FLAGS] [count=N]") || check_opts(w, o) ||
	    opt_long(w, "count", -1, &st->count))
		return -1;
	if (parse_target(w->w[0], &st->target) || parse_pages(w->w[1], &st->pages))
		return -1;
	st->nnodes = parse_int_list(w->w[2], nodes, MAX_PAGES);
	if (st->nnodes != 1 && st->nnodes != pages_count(&st->pages)) {
		perr("move: NODES is one node, or one node per page (%ld)", pages_count(&st->pages));
		return -1;
	}
	st->nodes = malloc(st->nnodes * sizeof *nodes);
	memcpy(st->nodes, nodes, st->nnodes * sizeof *nodes);
	if (w->n == 4 && parse_flags(w->w[3], &st->flags)) {
		perr("bad flags %s", w->w[3]);
		return -1;
	}
	return 0;
}

static int p_migrate(struct step *st, struct words *w)
{
	static const char *const o[] = {"watch", NULL};
	if (want_words(w, 3, 3, "migrate TARGET OLD NEW [watch=PAGES]") || check_opts(w, o) ||
	    parse_target(w->w[0], &st->target))
		return -1;
	if (opt(w, "watch") && parse_pages(opt(w, "watch"), &st->pages))
		return -1;
	if (parse_mask(w->w[1], st->mask[0]) || parse_mask(w->w[2], st->mask[1])) {
		perr("migrate: node lists of ids 0-%d", MASK_LONGS * 64 - 1);
		return -1;
	}
	return 0;
}

static int p_mbind(struct step *st, struct words *w)
{
	if (want_words(w, 3, 4, "mbind PAGES MODE NODES [FLAGS]") || check_opts(w, (const char *const[]){NULL}) ||
	    parse_pages(w->w[0], &st->pages))
		return -1;
	/* One contiguous range: R:*, R:I or R:I-J, or several that follow each
	 * other in memory (regions placed with after=). */
	for (int i = 0; i < st->pages.n; i++) {
		const struct spec *sp = &st->pages.s[i], *prev = i ? &st->pages.s[i - 1] : NULL;
		if (sp->kind != S_RANGE ||
		    (prev && spec_addr(sp, 0) != spec_addr(prev, spec_count(prev) - 1) + PAGE)) {
			perr("mbind takes one contiguous range R:*, R:I or R:I-J (or ranges that follow each other)");
			return -1;
		}
	}
	if (parse_mode(w->w[1], &st->mode) || parse_mask(w->w[2], st->mask[0])) {
		perr("mbind: bad mode %s or nodes %s", w->w[1], w->w[2]);
		return -1;
	}
	if (w->n == 4 && parse_flags(w->w[3], &st->flags)) {
		perr("bad flags %s", w->w[3]);
		return -1;
	}
	return 0;
}

struct opdef {
	const char *name;
	int op, process;
	int (*parse)(struct step *, struct words *);
};

static const struct opdef opdefs[] = {
	{"machine", OP_MACHINE, 0, p_machine},
	{"file", OP_FILE, 0, p_file},
	{"spawn", OP_SPAWN, 0, p_spawn},
	{"cpuset", OP_CPUSET, 0, p_cpuset},
	{"ksm_merge", OP_KSM_MERGE, 0, p_none},
	{"where", OP_WHERE, 1, p_pages},
	{"map", OP_MAP, 1, p_map},
	{"write", OP_WRITE, 1, p_write},
	{"touch", OP_TOUCH, 1, p_touch},
	{"check", OP_CHECK, 1, p_write},
	{"fork", OP_FORK, 1, p_fork},
	{"exit", OP_EXIT, 1, p_none},
	{"setuid", OP_SETUID, 1, p_num},
	{"seteuid", OP_SETEUID, 1, p_num},
	{"dumpable", OP_DUMPABLE, 1, p_num},
	{"attach", OP_ATTACH, 1, p_attach},
	{"mlock", OP_MLOCK, 1, p_pages},
	{"munlock", OP_MUNLOCK, 1, p_pages},
	{"mergeable", OP_MERGEABLE, 1, p_mergeable},
	{"munmap", OP_MUNMAP, 1, p_pages},
	{"mprotect", OP_MPROTECT, 1, p_mprotect},
	{"pin", OP_PIN, 1, p_pages},
	{"unpin", OP_UNPIN, 1, p_pages},
	{"set_mempolicy", OP_SET_MEMPOLICY, 1, p_set_mempolicy},
	{"query", OP_QUERY, 1, p_query},
	{"move", OP_MOVE, 1, p_move},
	{"migrate", OP_MIGRATE, 1, p_migrate},
	{"mbind", OP_MBIND, 1, p_mbind},
};

static const char *const model_only[] = {"reclaim", "inject", "uninject", "writeback", "offline",
					 "compact", "memcg", "attach_memcg", NULL};

static const struct opdef *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof opdefs / sizeof opdefs[0]; i++)
		if (!strcmp(opdefs[i].name, name))
			return &opdefs[i];
	return NULL;
}

static const char *op_name(int op)
{
	for (size_t i = 0; i < sizeof opdefs / sizeof opdefs[0]; i++)
		if (opdefs[i].op == op)
			return opdefs[i].name;
	return "?";
}

/* Split the words of a line (comment and expectation already cut). */
static int split_words(char *text, struct words *w)
{
	char *save, *word;
	memset(w, 0, sizeof *w);
	for (word = strtok_r(text, " \t\r", &save); word; word = strtok_r(NULL, " \t\r", &save)) {
		char *eq = strchr(word, '=');
		if (w->n + w->nopt >= MAX_WORDS) {
			perr("too many words");
			return -1;
		}
		if (eq && eq != word) {
			*eq = 0;
			w->key[w->nopt] = word;
			w->val[w->nopt++] = eq + 1;
		} else {
			w->w[w->n++] = word;
		}
	}
	return 0;
}

/* The text before `=>`, comment removed, without blanks at either end. */
static void command_text(const char *line, char *out, size_t size)
{
	char buf[1024], *start, *end;
	snprintf(buf, sizeof buf, "%s", line);
	buf[strcspn(buf, "#\n")] = 0;
	char *arrow = strstr(buf, "=>");
	if (arrow)
		*arrow = 0;
	for (start = buf; isspace((unsigned char)*start); start++)
		;
	for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
		;
	*end = 0;
	snprintf(out, size, "%s", start);
}

/* The actor written before the command, else the last spawned process. */
static int parse_actor(struct step *st, int actor, const struct opdef *def)
{
	st->actor = def->process ? (actor >= 0 ? actor : P->last_spawn) : -1;
	if (def->process && st->actor < 0) {
		perr("%s needs a process: spawn one first", def->name);
		return -1;
	}
	if (st->actor >= 0 && P->exited[st->actor]) {
		perr("process %s has exited", P->procs[st->actor]);
		return -1;
	}
	return 0;
}

static int parse_one(char *line, int lineno)
{
	char cmd[512], text[512];
	struct words w;
	parse_line = lineno;
	command_text(line, cmd, sizeof cmd);
	if (!cmd[0])
		return 0;
	if (P->nsteps >= MAX_STEPS) {
		perr("more than %d steps", MAX_STEPS);
		return -1;
	}
	struct step *st = &P->steps[P->nsteps];
	memset(st, 0, sizeof *st);
	st->line = lineno;
	st->count = -1;
	st->node = -1;
	snprintf(st->cmd, sizeof st->cmd, "%s", cmd);
	snprintf(text, sizeof text, "%s", cmd);
	if (split_words(text, &w) || w.n == 0) {
		if (w.n == 0)
			perr("a line starts with a command");
		return -1;
	}
	int actor = -1, shift = 0;
	size_t len = strlen(w.w[0]);
	if (len > 1 && w.w[0][len - 1] == ':') {
		w.w[0][len - 1] = 0;
		actor = find_name(P->procs, P->nprocs, w.w[0]);
		if (actor < 0) {
			perr("no process '%s'", w.w[0]);
			return -1;
		}
		shift = 1;
	}
	if (w.n <= shift) {
		perr("a command follows the actor");
		return -1;
	}
	const char *name = w.w[shift];
	if (!strcmp(name, "check") && w.n == shift + 1 && actor < 0) {
		perr("check without pages is Machine.check(): the model only");
		return -1;
	}
	for (const char *const *m = model_only; *m; m++)
		if (!strcmp(name, *m)) {
			perr("%s runs on the model only", name);
			return -1;
		}
	const struct opdef *def = find_op(name);
	if (!def) {
		perr("unknown command '%s'", name);
		return -1;
	}
	st->op = def->op;
	if (actor >= 0 && !def->process) {
		perr("%s is a machine command: it takes no actor", name);
		return -1;
	}
	memmove(w.w, w.w + shift + 1, (w.n - shift - 1) * sizeof w.w[0]);
	w.n -= shift + 1;
	if (parse_actor(st, actor, def) || def->parse(st, &w))
		return -1;
	if (st->op == OP_EXIT)
		P->exited[st->actor] = 1;
	P->nsteps++;
	return 0;
}

static int parse_file_into(const char *path, struct prog *pg)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0, errs = parse_errors;
	memset(pg, 0, sizeof *pg);
	pg->path = path;
	pg->nodes = 2;
	pg->ncpus = 2;
	pg->last_spawn = -1;
	P = pg;
	parse_file = path;
	if (!f) {
		parse_line = 0;
		perr("cannot open: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f))
		parse_one(line, ++lineno);
	fclose(f);
	return parse_errors > errs ? -1 : 0;
}

/* ----------------------------------------------------------------- JSON */

static char *jb;
static size_t jlen, jcap;

static void jput(const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(jb + jlen, jcap - jlen, fmt, ap);
		va_end(ap);
		if (jlen + n < jcap) {
			jlen += n;
			return;
		}
		jcap = 2 * (jlen + n + 1);
		jb = realloc(jb, jcap);
	}
}

static void jstr(const char *s)
{
	jput("\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			jput("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			jput("\\u%04x", *s);
		else
			jput("%c", *s);
	}
	jput("\"");
}

static void jbegin(void)
{
	if (!jb) {
		jcap = 1 << 16;
		jb = malloc(jcap);
	}
	jlen = 0;
	jput("{");
}

static void jend(void)
{
	jput("}\n");
	size_t off = 0;
	while (off < jlen) {
		ssize_t n = write(1, jb + off, jlen - off);
		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			off += n;
	}
}

static void emit_error(int line, const char *msg)
{
	jbegin();
	jput("\"line\":%d,\"op\":\"error\",\"msg\":", line);
	jstr(msg);
	jend();
}

/* ---------------------------------------------------------------- files */

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n < 0 ? -1 : 0;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

static void real_path(const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s%s", prefix, path);
}

/* ------------------------------------------------------------- patterns */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The contents of page `page` of `key` after a write of `gen`: a pattern
 * of (key, page, gen), zeros for gen 0, the byte B for FILL_CONST(B). */
static void pattern(uint64_t *dst, const char *key, long page, int gen)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	if (gen <= 0) {
		memset(dst, gen == 0 ? 0 : FILL_BYTE(gen), PAGE);
		return;
	}
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3ULL;
	h = mix64(h ^ mix64((uint64_t)page) ^ mix64((uint64_t)gen << 32));
	for (size_t i = 0; i < PAGE / 8; i++)
		dst[i] = mix64(h + i);
}

static const char *region_key(const struct region *r)
{
	return r->kind == K_FILE ? P->files[r->file].path : r->name;
}

/* The shared generation slot of a page, or NULL for a private page. */
static int *shared_gen(const struct region *r, long page)
{
	if (r->kind == K_SHMEM)
		return &sgens[r->gens + page];
	if (r->kind == K_FILE && r->shared)
		return &sgens[P->files[r->file].gens + page];
	return NULL;
}

static int page_gen(int region, long page)
{
	const struct region *r = &P->regions[region];
	int *sg = shared_gen(r, page);
	if (sg)
		return *sg;
	if (pgens[region] && pgens[region][page] != -1)
		return pgens[region][page];
	return r->kind == K_FILE ? sgens[P->files[r->file].gens + page] : 0;
}

static void set_page_gen(int region, long page, int gen)
{
	const struct region *r = &P->regions[region];
	int *sg = shared_gen(r, page);
	if (sg) {
		*sg = gen;
		return;
	}
	if (!pgens[region]) {
		pgens[region] = malloc(r->pages * sizeof(int));
		for (long i = 0; i < r->pages; i++)
			pgens[region][i] = -1;
	}
	pgens[region][page] = gen;
}

/* --------------------------------------------------------- user access */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

static struct result *R(void)
{
	return &S->res;
}

static void set_err(long ret)
{
	R()->ret = ret;
	R()->err = ret < 0 ? (errno ? errno : EINVAL) : 0;
}

/* Pages of a spec that belong to a region; others (@, unmapped, null) raw. */
typedef void (*page_fn)(const struct step *, int region, long page, unsigned char *addr);

static void for_each_page(const struct step *st, page_fn fn)
{
	if (sigsetjmp(fault_jmp, 1)) {
		R()->ret = -1;
		R()->sig = fault_sig;
		return;
	}
	for (int i = 0; i < st->pages.n; i++) {
		const struct spec *sp = &st->pages.s[i];
		for (long k = 0; k < spec_count(sp); k++)
			fn(st, sp->kind == S_RANGE ? sp->region : -1,
			   sp->kind == S_RANGE ? sp->first + k : -1,
			   (unsigned char *)spec_addr(sp, k));
	}
}

static void write_one(const struct step *st, int region, long page, unsigned char *addr)
{
	static uint64_t buf[PAGE / 8];
	pattern(buf, region >= 0 ? region_key(&P->regions[region]) : "@", page, st->gen);
	memcpy(addr, buf, PAGE);
	if (region >= 0)
		set_page_gen(region, page, st->gen);
}

static void touch_one(const struct step *st, int region, long page, unsigned char *addr)
{
	volatile unsigned char *p = addr;
	unsigned char v = *p;
	(void)region, (void)page;
	if (st->write)
		*p = v;                  /* a write fault that keeps the data */
}

static void check_one(const struct step *st, int region, long page, unsigned char *addr)
{
	static uint64_t buf[PAGE / 8];
	int gen = st->gen >= 0 ? st->gen : region >= 0 ? page_gen(region, page) : 0;
	pattern(buf, region >= 0 ? region_key(&P->regions[region]) : "@", page, gen);
	if (memcmp(addr, buf, PAGE))
		R()->ret++;              /* the number of pages whose data differ */
}

/* --------------------------------------------------------- system calls */

static long sys_move_pages(long pid, unsigned long count, void *pages, const int *nodes, int *status,
			   long flags)
{
	return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

/* An array of `size` bytes ending exactly at a PROT_NONE guard page. */
static void *guarded(size_t size, void **base, size_t *len)
{
	*len = ((size + PAGE - 1) & ~(PAGE - 1)) + PAGE;
	*base = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*base == MAP_FAILED)
		die("mmap of an argument array");
	mprotect((char *)*base + *len - PAGE, PAGE, PROT_NONE);
	return (char *)*base + *len - PAGE - size;
}

static long target_pid(const struct target *t)
{
	switch (t->kind) {
	case T_SELF: return 0;
	case T_PROC: return S->pid[t->proc];
	case T_PID: return t->pid;
	default: return BADPID;
	}
}

static void do_move_pages(const struct step *st)
{
	long n = pages_count(&st->pages);
	long count = st->count >= 0 ? st->count : n;
	void *b[3];
	size_t l[3];
	unsigned long *pages = guarded(n * sizeof(long), &b[0], &l[0]);
	int *nodes = NULL;
	int *status = guarded(n * sizeof(int), &b[1], &l[1]);
	resolve(&st->pages, pages);
	for (long i = 0; i < n; i++)
		status[i] = SENTINEL;
	if (st->op == OP_MOVE) {
		nodes = guarded(n * sizeof(int), &b[2], &l[2]);
		for (long i = 0; i < n; i++)
			nodes[i] = st->nodes[st->nnodes == 1 ? 0 : i];
	}
	set_err(sys_move_pages(target_pid(&st->target), count, pages, nodes, status,
			       st->op == OP_MOVE ? st->flags : 0));
	R()->n = (int)n;
	memcpy(R()->status, status, n * sizeof(int));
	for (int i = 0; i < (st->op == OP_MOVE ? 3 : 2); i++)
		munmap(b[i], l[i]);
}

/* Apply fn to each run of consecutive pages of the step; stop at a failure. */
static void for_each_range(const struct step *st, int (*fn)(const struct step *, void *, size_t))
{
	long n = pages_count(&st->pages);
	unsigned long *a = malloc(n * sizeof *a);
	resolve(&st->pages, a);
	for (long i = 0; i < n;) {
		long j = i + 1;
		while (j < n && a[j] == a[j - 1] + PAGE)
			j++;
		if (fn(st, (void *)a[i], (j - i) * PAGE) < 0) {
			set_err(-1);
			break;
		}
		i = j;
	}
	free(a);
}

static int r_mlock(const struct step *st, void *a, size_t len) { (void)st; return mlock(a, len); }
static int r_munlock(const struct step *st, void *a, size_t len) { (void)st; return munlock(a, len); }
static int r_munmap(const struct step *st, void *a, size_t len) { (void)st; return munmap(a, len); }
static int r_mprotect(const struct step *st, void *a, size_t len) { return mprotect(a, len, st->prot); }

static struct pin *find_pin(unsigned long addr)
{
	for (int i = 0; i < npins; i++)
		if (pins[i].addr == addr && pins[i].fd[0] >= 0)
			return &pins[i];
	return NULL;
}

/* An extra reference on each page: the page sits in a pipe (vmsplice). */
static void do_pin(const struct step *st)
{
	long n = pages_count(&st->pages);
	unsigned long *a = malloc(n * sizeof *a);
	resolve(&st->pages, a);
	for (long i = 0; i < n; i++) {
		struct iovec iov = {(void *)a[i], PAGE};
		pins = realloc(pins, (npins + 1) * sizeof *pins);
		struct pin *p = &pins[npins];
		if (pipe(p->fd) < 0 || vmsplice(p->fd[1], &iov, 1, 0) != (ssize_t)PAGE) {
			set_err(-1);
			break;
		}
		p->addr = a[i];
		npins++;
	}
	free(a);
}

static void do_unpin(const struct step *st)
{
	long n = pages_count(&st->pages);
	unsigned long *a = malloc(n * sizeof *a);
	resolve(&st->pages, a);
	for (long i = 0; i < n; i++) {
		struct pin *p = find_pin(a[i]);
		if (!p) {
			errno = EINVAL;
			set_err(-1);
			continue;
		}
		close(p->fd[0]);
		close(p->fd[1]);
		p->fd[0] = p->fd[1] = -1;
	}
	free(a);
}

/* A pinning process's pins are its own: a forked child drops them. */
static void drop_inherited_pins(void)
{
	for (int i = 0; i < npins; i++)
		if (pins[i].fd[0] >= 0) {
			close(pins[i].fd[0]);
			close(pins[i].fd[1]);
		}
	npins = 0;
}

static void do_map(const struct step *st)
{
	struct region *r = &P->regions[st->index];
	int fd = -1, flags = MAP_FIXED_NOREPLACE;
	size_t len = r->pages * PAGE;
	if (r->kind == K_FILE) {
		char path[512];
		real_path(P->files[r->file].path, path, sizeof path);
		fd = open(path, (r->prot & PROT_WRITE) && r->shared ? O_RDWR : O_RDONLY);
		if (fd < 0) {
			set_err(-1);
			return;
		}
		flags |= r->shared ? MAP_SHARED : MAP_PRIVATE;
	} else {
		flags |= MAP_ANONYMOUS | (r->kind == K_SHMEM ? MAP_SHARED : MAP_PRIVATE);
	}
	void *a = mmap((void *)r->addr, len, r->prot, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (a == MAP_FAILED) {
		set_err(-1);
		return;
	}
	if (a != (void *)r->addr) {
		errno = EEXIST;
		set_err(-1);
		return;
	}
	madvise(a, len, MADV_NOHUGEPAGE);
	if (r->node >= 0) {
		unsigned long mask[MASK_LONGS] = {0};
		mask[r->node / 64] = 1UL << (r->node % 64);
		set_err(syscall(SYS_mbind, a, len, 2 /* MPOL_BIND */, mask, MAXNODE, 0));
	}
}

static void do_mbind(const struct step *st)
{
	const struct spec *sp = &st->pages.s[0];
	set_err(syscall(SYS_mbind, spec_addr(sp, 0), pages_count(&st->pages) * PAGE, st->mode, st->mask[0],
			MAXNODE, st->flags));
}

static void do_set_mempolicy(const struct step *st)
{
	set_err(syscall(SYS_set_mempolicy, st->mode, st->has_mask ? st->mask[0] : NULL,
			st->has_mask ? MAXNODE : 0));
}

static void do_migrate(const struct step *st)
{
	set_err(syscall(SYS_migrate_pages, target_pid(&st->target), MAXNODE, st->mask[0], st->mask[1]));
}

static void do_mergeable(const struct step *st)
{
	const struct region *r = &P->regions[st->index];
	set_err(madvise((void *)r->addr, r->pages * PAGE, MADV_MERGEABLE));
}

/* ---------------------------------------------------------- processes */

static void proc_loop(void);

/* Become process `index` (spawned or forked); forked children are reaped
 * by the kernel, and a process dies with its parent (after any setuid,
 * which clears the parent-death signal). */
static void become(int index)
{
	me = index;
	S->pid[index] = getpid();
	drop_inherited_pins();
	signal(SIGCHLD, SIG_IGN);
}

static void do_fork(const struct step *st)
{
	pid_t pid = fork();
	if (pid < 0) {
		set_err(-1);
		return;
	}
	if (pid == 0) {
		become(st->index);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		proc_loop();
	}
	S->pid[st->index] = pid;
}

/* Run one step in this process; the master has cleared the result. */
static void proc_step(const struct step *st)
{
	switch (st->op) {
	case OP_MAP: do_map(st); break;
	case OP_WRITE: for_each_page(st, write_one); break;
	case OP_TOUCH: for_each_page(st, touch_one); break;
	case OP_CHECK: for_each_page(st, check_one); break;
	case OP_FORK: do_fork(st); break;
	case OP_EXIT: break;
	case OP_SETUID: set_err(setuid((uid_t)st->num)); break;
	case OP_SETEUID: set_err(seteuid((uid_t)st->num)); break;
	case OP_DUMPABLE: set_err(prctl(PR_SET_DUMPABLE, st->num)); break;
	case OP_MLOCK: for_each_range(st, r_mlock); break;
	case OP_MUNLOCK: for_each_range(st, r_munlock); break;
	case OP_MERGEABLE: do_mergeable(st); break;
	case OP_MUNMAP: for_each_range(st, r_munmap); break;
	case OP_MPROTECT: for_each_range(st, r_mprotect); break;
	case OP_PIN: do_pin(st); break;
	case OP_UNPIN: do_unpin(st); break;
	case OP_SET_MEMPOLICY: do_set_mempolicy(st); break;
	case OP_QUERY:
	case OP_MOVE: do_move_pages(st); break;
	case OP_MIGRATE: do_migrate(st); break;
	case OP_MBIND: do_mbind(st); break;
	}
}

static void proc_loop(void)
{
	for (;;) {
		int idx;
		char ack = 1;
		ssize_t n = read(cmd_fd[me][0], &idx, sizeof idx);
		if (n != sizeof idx)
			_exit(4);
		const struct step *st = &P->steps[idx];
		proc_step(st);           /* a forked child never returns from it */
		if (write(ack_fd[me][1], &ack, 1) != 1)
			_exit(4);
		if (st->op == OP_EXIT)
			_exit(0);
	}
}

static void open_pidfd(int index)
{
	pidfd[index] = (int)syscall(SYS_pidfd_open, S->pid[index], 0);
}

/* Wait until a process has exited (its address space is gone). */
static void wait_gone(int index)
{
	struct pollfd pfd = {pidfd[index], POLLIN, 0};
	if (pidfd[index] >= 0) {
		poll(&pfd, 1, STEP_TIMEOUT_MS);
		close(pidfd[index]);
	}
	pidfd[index] = -1;
	waitpid(S->pid[index], NULL, WNOHANG);
	S->pid[index] = 0;
}

static void do_spawn(const struct step *st)
{
	pid_t pid = fork();
	if (pid < 0) {
		set_err(-1);
		return;
	}
	if (pid == 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(st->node, &set);
		become(st->index);
		if (sched_setaffinity(0, sizeof set, &set) || setgroups(0, NULL) ||
		    setgid((gid_t)st->flags) || setuid((uid_t)st->num) || prctl(PR_SET_DUMPABLE, 1) ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL))
			_exit(5);
		proc_loop();
	}
	S->pid[st->index] = pid;
	open_pidfd(st->index);
}

/* ------------------------------------------------------------- cpusets */

/* Find the cpuset hierarchy: cgroup2 with the cpuset controller, else v1. */
static int find_cgroot(void)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[256], type[64], opts[512], ctl[512];
	if (!f)
		return -1;
	cgroot[0] = 0;
	while (fscanf(f, "%255s %255s %63s %511s %*d %*d", dev, dir, type, opts) == 4) {
		char path[512];
		snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
		if (!strcmp(type, "cgroup2") && !read_text(path, ctl, sizeof ctl) && strstr(ctl, "cpuset")) {
			snprintf(cgroot, sizeof cgroot, "%s", dir);
			cg_v1 = 0;
			break;
		}
		if (!strcmp(type, "cgroup") && strstr(opts, "cpuset")) {
			snprintf(cgroot, sizeof cgroot, "%s", dir);
			cg_v1 = 1;
		}
	}
	fclose(f);
	return cgroot[0] ? 0 : -1;
}

static void cpuset_dir(int index, char *out, size_t size)
{
	const struct cpuset *cs = &P->cpusets[index];
	char parent[400];
	if (cs->parent >= 0)
		cpuset_dir(cs->parent, parent, sizeof parent);
	else
		snprintf(parent, sizeof parent, "%s/pagemig-%d", cgroot, (int)getpid());
	snprintf(out, size, "%s/%s", parent, cs->name);
}

static void mask_text(const unsigned long *mask, char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (int i = 0; i < MASK_LONGS * 64; i++)
		if (mask[i / 64] >> (i % 64) & 1)
			len += snprintf(out + len, size - len, "%s%d", len ? "," : "", i);
}

static int cg_write(const char *dir, const char *file, const char *text)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return write_text(path, text);
}

/* v1 needs cpus and mems before a task joins; v2 needs the controller on. */
static int cg_prepare(const char *dir)
{
	char parent[512], cpus[256], path[600];
	snprintf(parent, sizeof parent, "%s", dir);
	*strrchr(parent, '/') = 0;
	if (!cg_v1)
		return cg_write(parent, "cgroup.subtree_control", "+cpuset");
	snprintf(path, sizeof path, "%s/cpuset.cpus", parent);
	if (read_text(path, cpus, sizeof cpus))
		return -errno;
	return cg_write(dir, "cpuset.cpus", cpus);
}

static int cg_make(const char *dir, const char *mems)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	int rc = cg_prepare(dir);
	return rc || !mems ? rc : cg_write(dir, "cpuset.mems", mems);
}

/* pagemig-PID/[PARENT/]NAME under the cpuset hierarchy's root. */
static void do_cpuset(const struct step *st)
{
	char dir[512], mems[4096], top[512], path[600], all[4096];
	int rc = 0;
	if (!cgroot[0] && find_cgroot())
		rc = -ENODEV;
	snprintf(top, sizeof top, "%s/pagemig-%d", cgroot, (int)getpid());
	snprintf(path, sizeof path, "%s/cpuset.mems", cgroot);
	if (!rc && cg_v1 && read_text(path, all, sizeof all))
		rc = -errno;
	if (!rc)
		rc = cg_make(top, cg_v1 ? all : NULL);
	cpuset_dir(st->index, dir, sizeof dir);
	mask_text(st->mask[0], mems, sizeof mems);
	if (!rc)
		rc = cg_make(dir, mems);
	if (rc) {
		errno = -rc;
		set_err(-1);
	}
}

static void do_attach(const struct step *st)
{
	char dir[512], pid[32];
	cpuset_dir(st->index, dir, sizeof dir);
	snprintf(pid, sizeof pid, "%d", (int)S->pid[st->actor]);
	int rc = cg_write(dir, "cgroup.procs", pid);
	if (rc) {
		errno = -rc;
		set_err(-1);
	}
}

static void remove_cpusets(void)
{
	char dir[512];
	for (int i = P->ncpusets - 1; i >= 0; i--) {
		cpuset_dir(i, dir, sizeof dir);
		rmdir(dir);
	}
	if (P->ncpusets) {
		snprintf(dir, sizeof dir, "%s/pagemig-%d", cgroot, (int)getpid());
		rmdir(dir);
	}
}

/* ----------------------------------------------------------------- KSM */

static long ksm_long(const char *name)
{
	char path[128], text[64];
	snprintf(path, sizeof path, "/sys/kernel/mm/ksm/%s", name);
	return read_text(path, text, sizeof text) ? -1 : atol(text);
}

static int ksm_set(const char *name, const char *value)
{
	char path[128];
	snprintf(path, sizeof path, "/sys/kernel/mm/ksm/%s", name);
	return write_text(path, value);
}

/* Run ksmd until full_scans has advanced `scans` times, at most limit_ms;
 * 0 or -errno. */
static int ksm_scan(int scans, int limit_ms)
{
	long start = ksm_long("full_scans");
	int rc = ksm_set("pages_to_scan", "10000");
	if (!rc)
		rc = ksm_set("sleep_millisecs", "10");
	if (!rc)
		rc = ksm_set("run", "1");
	for (int ms = 0; !rc && ksm_long("full_scans") < start + scans; ms += 5) {
		if (ms > limit_ms)
			rc = -ETIMEDOUT;
		usleep(5000);
	}
	ksm_set("run", "0");
	return rc;
}

/* Let ksmd scan until every mergeable page was seen in two full scans (a
 * page joins the unstable tree only when its checksum held between two
 * scans; the first scan may start half-way), then stop it with run=0,
 * which keeps the merged pages (run=2 would unmerge them). The return
 * value is the increase of pages_sharing: the pages merged away. */
static void do_ksm_merge(void)
{
	char path[128];
	for (int i = 0; i < 3 && !ksm_saved; i++) {
		snprintf(path, sizeof path, "/sys/kernel/mm/ksm/%s", ksm_knobs[i]);
		if (read_text(path, ksm_old[i], sizeof ksm_old[i])) {
			set_err(-1);
			return;
		}
	}
	ksm_saved = 1;
	long sharing = ksm_long("pages_sharing");
	int rc = ksm_scan(3, STEP_TIMEOUT_MS / 2);
	if (rc) {
		errno = -rc;
		set_err(-1);
		return;
	}
	R()->ret = ksm_long("pages_sharing") - sharing;   /* pages merged away */
}

/* ---------------------------------------------------------------- files */

static void do_file(const struct step *st)
{
	struct pfile *f = &P->files[st->index];
	static uint64_t buf[PAGE / 8];
	char path[512];
	real_path(f->path, path, sizeof path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0666);
	if (fd < 0) {
		set_err(-1);
		return;
	}
	fchmod(fd, 0666);
	for (long i = 0; i < f->pages; i++) {
		pattern(buf, f->path, i, f->gen);
		if (write(fd, buf, PAGE) != (ssize_t)PAGE) {
			set_err(-1);
			break;
		}
		sgens[f->gens + i] = f->gen;
	}
	close(fd);
}

static void remove_files(void)
{
	char path[512];
	for (int i = 0; i < P->nfiles; i++) {
		real_path(P->files[i].path, path, sizeof path);
		unlink(path);
	}
}

/* --------------------------------------------------------------- master */

/* The process whose address space holds the step's pages: the target of
 * move_pages and migrate_pages, else the actor. */
static long home_pid(const struct step *st)
{
	if (st->op == OP_QUERY || st->op == OP_MOVE || st->op == OP_MIGRATE) {
		long pid = target_pid(&st->target);
		if (pid != 0)
			return pid == BADPID ? -1 : pid;
	}
	return S->pid[st->actor] ? S->pid[st->actor] : -1;
}

/* Where each page of the step is, asked by the (root) master. */
static void emit_nodes(const struct step *st)
{
	static unsigned long addr[MAX_PAGES];
	static int status[MAX_PAGES];
	const char *sep = "";
	long pid = home_pid(st);
	jput(",\"nodes\":[");
	for (int i = 0; i < st->pages.n; i++) {
		const struct spec *sp = &st->pages.s[i];
		long n = spec_count(sp);
		for (long k = 0; k < n; k++) {
			addr[k] = spec_addr(sp, k);
			status[k] = SENTINEL;
		}
		if (pid < 0 || sys_move_pages(pid, n, addr, NULL, status, 0) < 0)
			for (long k = 0; k < n; k++)
				status[k] = SENTINEL;
		for (long k = 0; k < n; k++, sep = ",") {
			if (status[k] >= 0)
				jput("%s%d", sep, status[k]);
			else
				jput("%snull", sep);
		}
	}
	jput("]");
}

/* Steps whose record carries the call's return value. */
static int has_ret(int op)
{
	return op == OP_MOVE || op == OP_QUERY || op == OP_MIGRATE || op == OP_MBIND || op == OP_KSM_MERGE;
}

/* Steps whose record says where their pages are afterwards. */
static int has_nodes(const struct step *st)
{
	return st->pages.n && (st->op == OP_MOVE || st->op == OP_QUERY || st->op == OP_MBIND ||
			       st->op == OP_WHERE || st->op == OP_MIGRATE);
}

static void emit_step(const struct step *st)
{
	const struct result *r = R();
	jbegin();
	jput("\"line\":%d,\"cmd\":", st->line);
	jstr(st->cmd);
	jput(",\"op\":\"%s\",\"ret\":", op_name(st->op));
	if (has_ret(st->op) && !r->err && !r->sig)
		jput("%ld", r->ret);
	else
		jput("null");
	jput(",\"errno\":");
	if (r->err)
		jput("\"%s\"", errname(r->err));
	else
		jput("null");
	jput(",\"status\":");
	if (st->op == OP_MOVE || st->op == OP_QUERY) {
		jput("[");
		for (int i = 0; i < r->n; i++) {
			if (r->status[i] == SENTINEL)
				jput("%snull", i ? "," : "");
			else
				jput("%s%d", i ? "," : "", r->status[i]);
		}
		jput("]");
	} else {
		jput("null");
	}
	if (has_nodes(st))
		emit_nodes(st);
	else
		jput(",\"nodes\":null");
	jput(",\"signal\":");
	if (r->sig)
		jput("\"%s\"", r->sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
	else
		jput("null");
	jput(",\"data\":");
	if (st->op == OP_CHECK && !r->sig)
		jput(r->ret ? "\"bad\"" : "\"ok\"");
	else
		jput("null");
	jend();
}

static void clear_result(void)
{
	struct result *r = R();
	r->ret = 0;
	r->err = r->sig = r->n = 0;
	r->msg[0] = 0;
}

/* Send a step to its process and wait for the answer. */
static int run_in_process(const struct step *st)
{
	int a = st->actor;
	char ack;
	struct pollfd pfd[2] = {{ack_fd[a][0], POLLIN, 0}, {pidfd[a], POLLIN, 0}};
	int idx = (int)(st - P->steps);
	if (!S->pid[a] || write(cmd_fd[a][1], &idx, sizeof idx) != sizeof idx)
		return -1;
	if (poll(pfd, pidfd[a] >= 0 ? 2 : 1, STEP_TIMEOUT_MS) <= 0 || !(pfd[0].revents & POLLIN))
		return -1;
	if (read(ack_fd[a][0], &ack, 1) != 1)
		return -1;
	if (st->op == OP_FORK)
		open_pidfd(st->index);
	if (st->op == OP_EXIT)
		wait_gone(a);
	return 0;
}

static void master_step(const struct step *st)
{
	switch (st->op) {
	case OP_FILE: do_file(st); break;
	case OP_SPAWN: do_spawn(st); break;
	case OP_CPUSET: do_cpuset(st); break;
	case OP_KSM_MERGE: do_ksm_merge(); break;
	case OP_ATTACH: do_attach(st); break;
	default: break;                  /* machine; where only asks (below) */
	}
}

static int online_nodes(void)
{
	char text[256];
	int ids[1024];
	if (read_text("/sys/devices/system/node/online", text, sizeof text))
		return 1;                    /* a kernel without NUMA */
	return parse_int_list(text, ids, 1024);
}

static void setup_shared(void)
{
	S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sgens = mmap(NULL, (P->ngens + 1) * sizeof(int), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED || sgens == MAP_FAILED)
		die("mmap of the shared tables");
	for (int i = 0; i < P->nprocs; i++) {
		if (pipe(cmd_fd[i]) || pipe(ack_fd[i]))
			die("pipe");
		pidfd[i] = -1;
	}
}

static void cleanup(void)
{
	for (int i = 0; i < P->nprocs; i++)
		if (S->pid[i]) {
			kill(S->pid[i], SIGKILL);
			wait_gone(i);
		}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* ksmd drops the exited processes' KSM pages when its scan reaches
	 * them: let it run, or the next file's pages_sharing would count them.
	 * With no mergeable process left full_scans stops, hence the limit. */
	if (ksm_saved)
		ksm_scan(2, 500);
	for (int i = 2; i >= 0 && ksm_saved; i--)
		ksm_set(ksm_knobs[i], ksm_old[i]);   /* run last */
	remove_cpusets();
	remove_files();
}

static int run_scenario(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(master_cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
	setup_shared();
	if (online_nodes() != P->nodes) {
		char msg[128];
		snprintf(msg, sizeof msg, "the scenario needs %d nodes, the kernel has %d online", P->nodes,
			 online_nodes());
		emit_error(P->steps[0].line, msg);
		return 3;
	}
	for (int i = 0; i < P->nsteps; i++) {
		const struct step *st = &P->steps[i];
		clear_result();
		errno = 0;
		if (st->actor >= 0 && st->op != OP_ATTACH && st->op != OP_WHERE) {
			if (run_in_process(st)) {
				char msg[128];
				snprintf(msg, sizeof msg, "process %s died or did not answer",
					 P->procs[st->actor]);
				emit_error(st->line, msg);
				cleanup();
				return 3;
			}
		} else {
			master_step(st);
		}
		emit_step(st);
	}
	cleanup();
	return 0;
}

/* ---------------------------------------------------------------- main */

static void emit_text(const char *key, const char *path)
{
	char text[512];
	if (read_text(path, text, sizeof text))
		return;
	jput(",\"%s\":", key);
	jstr(text);
}

static void emit_env(void)
{
	struct utsname u;
	uname(&u);
	jbegin();
	jput("\"op\":\"env\",\"release\":");
	jstr(u.release);
	jput(",\"version\":");
	jstr(u.version);
	jput(",\"cpus\":%ld", sysconf(_SC_NPROCESSORS_ONLN));
	emit_text("possible", "/sys/devices/system/node/possible");
	emit_text("online", "/sys/devices/system/node/online");
	emit_text("has_memory", "/sys/devices/system/node/has_memory");
	emit_text("has_cpu", "/sys/devices/system/node/has_cpu");
	emit_text("thp", "/sys/kernel/mm/transparent_hugepage/enabled");
	emit_text("numa_balancing", "/proc/sys/kernel/numa_balancing");
	emit_text("cmdline", "/proc/cmdline");
	jend();
}

static int run_file(const char *path)
{
	static struct prog pg;
	int status = 0;
	jbegin();
	jput("\"op\":\"begin\",\"file\":");
	jstr(path);
	jend();
	if (parse_file_into(path, &pg)) {
		emit_error(0, "the file does not parse (runner -l FILE says why)");
	} else {
		pid_t pid = fork();
		if (pid == 0) {
			setpgid(0, 0);
			alarm(600);
			_exit(run_scenario());
		}
		waitpid(pid, &status, 0);
		kill(-pid, SIGKILL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	jbegin();
	jput("\"op\":\"end\",\"file\":");
	jstr(path);
	jput(",\"exit\":%d,\"signal\":%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	jend();
	return status != 0;
}

static void private_mounts(const char *dir)
{
	char path[512];
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("unshare of the mount namespace");
	snprintf(path, sizeof path, "%s/tmp", dir);
	mkdir(path, 0777);
	if (mount("pagemig-tmp", path, "tmpfs", 0, "mode=1777"))
		die("mount tmpfs on %s", path);
	snprintf(path, sizeof path, "%s/ramfs", dir);
	mkdir(path, 0777);
	if (mount("pagemig-ramfs", path, "ramfs", 0, "mode=1777"))
		die("mount ramfs on %s", path);
	prefix = dir;
}

static void usage(void)
{
	fprintf(stderr, "usage: runner -l FILE...          parse only\n"
			"       runner [-m DIR] [-c CPU] FILE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct prog pg;
	int lint = 0, c, failed = 0;
	struct sigaction sa = {0};
	while ((c = getopt(argc, argv, "lm:c:")) != -1) {
		switch (c) {
		case 'l': lint = 1; break;
		case 'm': private_mounts(optarg); break;
		case 'c': master_cpu = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (lint) {
		for (int i = optind; i < argc; i++)
			failed |= parse_file_into(argv[i], &pg) != 0;
		return failed ? 2 : 0;
	}
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	emit_env();
	for (int i = optind; i < argc; i++)
		run_file(argv[i]);
	jbegin();
	jput("\"op\":\"done\",\"files\":%d", argc - optind);
	jend();
	return 0;
}
