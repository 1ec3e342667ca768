/*
 * THP write-fault cost on the live kernel (the fault_write_thp cost of @kmodel/core).
 * Maps 64 MiB 2 MiB-aligned, MADV_HUGEPAGE, writes one byte per 2 MiB and times each fault
 * with clock_gettime(CLOCK_MONOTONIC); prints the median per run and the median of 5 runs.
 * Build and run: gcc -O2 -o /tmp/thp-fault thp-fault.c && /tmp/thp-fault
 * Needs THP "madvise" or "always" (/sys/kernel/mm/transparent_hugepage/enabled).
 * On a VM with virtio_balloon free page reporting, the first run (and any run after a few
 * seconds idle) faults on memory the host took back and is 20-30x slower; the median of the
 * runs leaves it out.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define SZ (64UL << 20)
#define HP (2UL << 20)
#define RUNS 5

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* AnonHugePages of the process in kB: proves that every fault made a THP. */
static long anon_huge_kb(void) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "AnonHugePages:", 14)) kb = atol(line + 14);
  if (f) fclose(f);
  return kb;
}

int main(void) {
  double medians[RUNS];
  for (int r = 0; r < RUNS; r++) {
    char *raw = mmap(NULL, SZ + HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return perror("mmap"), 1;
    char *p = (char *)(((uintptr_t)raw + HP - 1) & ~(HP - 1));
    if (madvise(p, SZ, MADV_HUGEPAGE)) return perror("madvise"), 1;
    int n = SZ / HP;
    double t[SZ / HP];
    for (int i = 0; i < n; i++) {
      double a = now();
      p[i * HP] = 1;
      t[i] = now() - a;
    }
    qsort(t, n, sizeof t[0], cmp);
    medians[r] = t[n / 2];
    printf("run %d: median %.1f us, min %.1f, max %.1f, AnonHugePages %ld kB\n", r, t[n / 2] / 1e3, t[0] / 1e3, t[n - 1] / 1e3, anon_huge_kb());
    munmap(raw, SZ + HP);
  }
  qsort(medians, RUNS, sizeof medians[0], cmp);
  printf("median of %d runs: %.1f us\n", RUNS, medians[RUNS / 2] / 1e3);
  return 0;
}
