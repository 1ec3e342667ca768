/*
 * kmodel-runner: executes a kmodel trace on the live Linux kernel.
 *
 * The Node side (packages/sim/src/native/) parses the trace and sends this program one
 * command per line on stdin, numbers in decimal:
 *
 *   <line> mmap <slot> <addr|0> <size> <align> <rw|r|none> <default|never|always>
 *   <line> touch <slot> <offset> <size> <stride> <read|write>
 *   <line> madvise <slot> <offset> <size> <dontneed|free|hugepage|nohugepage|populate_read|populate_write>
 *   <line> munmap <slot> <offset> <size>
 *   <line> status
 *
 * `status` prints one JSON object on stdout with VmPTE, RssAnon, VmRSS (kB, from
 * /proc/self/status), PageTables (kB, from /proc/meminfo), and thp_collapse_alloc and
 * thp_fault_fallback (counts, from /proc/vmstat). A failing system call prints
 * {"error":..., "line":..., "errno":..., "message":...} and exits with status 2; a bad
 * command exits with status 3.
 *
 * The program allocates nothing between two records: no stdio, no malloc, static buffers
 * that are faulted in before the first command, eager symbol binding (-Wl,-z,now), so the
 * deltas between records are the trace's own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MAX_SLOTS 4096
#define IN_SIZE (1 << 16)
#define PROC_SIZE (1 << 14)
#define OUT_SIZE 1024

static uintptr_t slot_base[MAX_SLOTS];
/* Trace line of the command being run, for the SIGSEGV / SIGBUS report. */
static volatile unsigned long current_line;
static char in_buf[IN_SIZE];
static char proc_buf[PROC_SIZE];
static char out_buf[OUT_SIZE];

static void write_all(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(4);
    }
    s += w;
    n -= (size_t)w;
  }
}

static void syscall_failed(unsigned long line, const char *what) {
  int e = errno;
  int n = snprintf(out_buf, OUT_SIZE, "{\"error\":\"%s\",\"line\":%lu,\"errno\":%d,\"message\":\"%s\"}\n", what, line, e, strerror(e));
  write_all(out_buf, (size_t)n);
  _exit(2);
}

/*
 * A touch the protection forbids (the trace parser rejects those, but a hand-made command
 * stream may not) would kill the runner silently: report it like a failed call instead,
 * with async-signal-safe code only.
 */
static void on_fault(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  static char msg[160];
  static const char head[] = "{\"error\":\"touch\",\"line\":";
  size_t n = 0;
  for (const char *p = head; *p; p++) msg[n++] = *p;
  char digits[24];
  int d = 0;
  unsigned long v = current_line;
  do {
    digits[d++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (d > 0) msg[n++] = digits[--d];
  static const char mid[] = ",\"errno\":14,\"message\":\"";
  for (const char *p = mid; *p; p++) msg[n++] = *p;
  const char *what = sig == SIGSEGV ? "SIGSEGV: the access is not allowed by the mapping's protection or hits no mapping at 0x" : "SIGBUS at 0x";
  for (const char *p = what; *p; p++) msg[n++] = *p;
  uintptr_t a = (uintptr_t)info->si_addr;
  for (int shift = (int)(sizeof a * 8) - 4; shift >= 0; shift -= 4) msg[n++] = "0123456789abcdef"[(a >> shift) & 15];
  msg[n++] = '"';
  msg[n++] = '}';
  msg[n++] = '\n';
  write_all(msg, n);
  _exit(2);
}

static void bad_command(unsigned long line, const char *why) {
  int n = snprintf(out_buf, OUT_SIZE, "{\"error\":\"command\",\"line\":%lu,\"errno\":0,\"message\":\"%s\"}\n", line, why);
  write_all(out_buf, (size_t)n);
  _exit(3);
}

/* Reads a whole /proc file into proc_buf with read(2); returns its length. */
static size_t read_proc(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) syscall_failed(0, path);
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, proc_buf + len, PROC_SIZE - 1 - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      syscall_failed(0, path);
    }
    if (r == 0 || len + (size_t)r >= PROC_SIZE - 1) {
      len += (size_t)(r > 0 ? r : 0);
      break;
    }
    len += (size_t)r;
  }
  close(fd);
  proc_buf[len] = '\0';
  return len;
}

/* The kB value of "<key>:   123 kB" in proc_buf, or -1 when absent. */
static long proc_field(const char *key) {
  size_t klen = strlen(key);
  const char *p = proc_buf;
  while (*p) {
    if (strncmp(p, key, klen) == 0 && p[klen] == ':') return strtol(p + klen + 1, NULL, 10);
    const char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  return -1;
}

/* The value of "<key> 123" (the /proc/vmstat format) in proc_buf, or -1 when absent. */
static long vmstat_field(const char *key) {
  size_t klen = strlen(key);
  const char *p = proc_buf;
  while (*p) {
    if (strncmp(p, key, klen) == 0 && p[klen] == ' ') return strtol(p + klen + 1, NULL, 10);
    const char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  return -1;
}

static void status(void) {
  read_proc("/proc/self/status");
  long vmpte = proc_field("VmPTE"), rss_anon = proc_field("RssAnon"), vmrss = proc_field("VmRSS");
  read_proc("/proc/meminfo");
  long pagetables = proc_field("PageTables");
  /* System-wide counts of huge pages khugepaged allocated for a collapse and of THP faults
     that fell back to 4 KiB pages: when one moves during a run, the kernel may have done to
     this process what the trace did not ask for. */
  read_proc("/proc/vmstat");
  long collapse = vmstat_field("thp_collapse_alloc"), fallback = vmstat_field("thp_fault_fallback");
  int n = snprintf(out_buf, OUT_SIZE, "{\"VmPTE\":%ld,\"RssAnon\":%ld,\"VmRSS\":%ld,\"PageTables\":%ld,\"thp_collapse_alloc\":%ld,\"thp_fault_fallback\":%ld}\n", vmpte, rss_anon, vmrss, pagetables, collapse, fallback);
  write_all(out_buf, (size_t)n);
}

/* Splits a command line into at most 8 words, in place. */
static int split(char *s, char **w) {
  int n = 0;
  while (*s && n < 8) {
    while (*s == ' ') s++;
    if (!*s) break;
    w[n++] = s;
    while (*s && *s != ' ') s++;
    if (*s) *s++ = '\0';
  }
  return n;
}

static unsigned long long num(unsigned long line, const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || end == s) bad_command(line, "expected a decimal number");
  return v;
}

static uintptr_t slot_addr(unsigned long line, const char *s) {
  unsigned long long slot = num(line, s);
  if (slot >= MAX_SLOTS || slot_base[slot] == 0) bad_command(line, "unknown region slot");
  return slot_base[slot];
}

static void do_mmap(unsigned long line, char **w) {
  unsigned long long slot = num(line, w[2]), addr = num(line, w[3]), size = num(line, w[4]), align = num(line, w[5]);
  int prot = strcmp(w[6], "rw") == 0 ? PROT_READ | PROT_WRITE : strcmp(w[6], "r") == 0 ? PROT_READ : strcmp(w[6], "none") == 0 ? PROT_NONE : -1;
  if (slot >= MAX_SLOTS || prot < 0) bad_command(line, "bad mmap slot or prot");
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  uintptr_t base;
  if (addr != 0) {
    void *p = mmap((void *)(uintptr_t)addr, size, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) syscall_failed(line, "mmap");
    if ((uintptr_t)p != addr) {
      errno = EEXIST;
      syscall_failed(line, "mmap");
    }
    base = (uintptr_t)p;
  } else if (align <= 4096) {
    void *p = mmap(NULL, size, prot, flags, -1, 0);
    if (p == MAP_FAILED) syscall_failed(line, "mmap");
    base = (uintptr_t)p;
  } else {
    /* Over-map by the alignment, then trim the head and the tail. */
    void *p = mmap(NULL, size + align, prot, flags, -1, 0);
    if (p == MAP_FAILED) syscall_failed(line, "mmap");
    uintptr_t raw = (uintptr_t)p;
    base = (raw + align - 1) & ~(uintptr_t)(align - 1);
    if (base > raw && munmap(p, base - raw) != 0) syscall_failed(line, "munmap");
    uintptr_t tail = raw + size + align - (base + size);
    if (tail > 0 && munmap((void *)(base + size), tail) != 0) syscall_failed(line, "munmap");
  }
  int thp = strcmp(w[7], "always") == 0 ? MADV_HUGEPAGE : strcmp(w[7], "never") == 0 ? MADV_NOHUGEPAGE : 0;
  if (thp && madvise((void *)base, size, thp) != 0) syscall_failed(line, "madvise");
  slot_base[slot] = base;
}

static void do_touch(unsigned long line, char **w) {
  uintptr_t base = slot_addr(line, w[2]);
  unsigned long long off = num(line, w[3]), size = num(line, w[4]), stride = num(line, w[5]);
  int write = strcmp(w[6], "write") == 0;
  if (stride == 0) bad_command(line, "stride 0");
  for (unsigned long long o = off; o < off + size; o += stride) {
    volatile char *p = (volatile char *)(base + o);
    if (write) *p = 1;
    else (void)*p;
  }
}

static void do_madvise(unsigned long line, char **w) {
  uintptr_t base = slot_addr(line, w[2]);
  unsigned long long off = num(line, w[3]), size = num(line, w[4]);
  const char *a = w[5];
  int advice = strcmp(a, "dontneed") == 0         ? MADV_DONTNEED
               : strcmp(a, "free") == 0           ? MADV_FREE
               : strcmp(a, "hugepage") == 0       ? MADV_HUGEPAGE
               : strcmp(a, "nohugepage") == 0     ? MADV_NOHUGEPAGE
               : strcmp(a, "populate_read") == 0  ? MADV_POPULATE_READ
               : strcmp(a, "populate_write") == 0 ? MADV_POPULATE_WRITE
                                                  : -1;
  if (advice < 0) bad_command(line, "unknown advice");
  if (madvise((void *)(base + off), size, advice) != 0) syscall_failed(line, "madvise");
}

static void do_munmap(unsigned long line, char **w) {
  uintptr_t base = slot_addr(line, w[2]);
  unsigned long long off = num(line, w[3]), size = num(line, w[4]);
  if (munmap((void *)(base + off), size) != 0) syscall_failed(line, "munmap");
}

static void run(char *cmd) {
  char *w[8] = {0};
  int n = split(cmd, w);
  if (n == 0) return;
  unsigned long line = (unsigned long)num(0, w[0]);
  current_line = line;
  if (n == 2 && strcmp(w[1], "status") == 0) status();
  else if (n == 8 && strcmp(w[1], "mmap") == 0) do_mmap(line, w);
  else if (n == 7 && strcmp(w[1], "touch") == 0) do_touch(line, w);
  else if (n == 6 && strcmp(w[1], "madvise") == 0) do_madvise(line, w);
  else if (n == 5 && strcmp(w[1], "munmap") == 0) do_munmap(line, w);
  else bad_command(line, "unknown command or wrong number of words");
}

/* Faults in the stack the commands will use, so that no record pays for it. */
static void __attribute__((noinline)) warm_stack(void) {
  volatile char pad[64 * 1024];
  for (size_t i = 0; i < sizeof pad; i += 4096) pad[i] = 0;
}

int main(void) {
  /* Write every static buffer once, so their pages are resident before the first record. */
  memset(slot_base, 0, sizeof slot_base);
  memset(in_buf, 1, sizeof in_buf);
  memset(proc_buf, 1, sizeof proc_buf);
  memset(out_buf, 1, sizeof out_buf);
  warm_stack();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  read_proc("/proc/self/status"); /* the first open/read of procfs also warms libc paths */
  read_proc("/proc/vmstat");
  /* Commands are in in_buf[start, have); a partial last line is moved to the front before reading more. */
  size_t start = 0, have = 0;
  for (;;) {
    char *nl = memchr(in_buf + start, '\n', have - start);
    if (nl) {
      *nl = '\0';
      run(in_buf + start);
      start = (size_t)(nl + 1 - in_buf);
      continue;
    }
    memmove(in_buf, in_buf + start, have - start);
    have -= start;
    start = 0;
    if (have == IN_SIZE - 1) bad_command(0, "command line too long");
    ssize_t r = read(0, in_buf + have, IN_SIZE - 1 - have);
    if (r < 0) {
      if (errno == EINTR) continue;
      syscall_failed(0, "read");
    }
    if (r == 0) {
      if (have > 0) {
        in_buf[have] = '\0';
        run(in_buf);
      }
      return 0;
    }
    have += (size_t)r;
  }
}
