/* memfd_secret (secretmem) removes each faulted page from the direct map: prints the
 * direct_map_* lines of /proc/vmstat and the DirectMap lines of /proc/meminfo before, after
 * touching N pages, and after closing. Build: gcc -O2 -o secretmem secretmem.c; run: ./secretmem 1000 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
static void show(const char *tag) {
  FILE *f = fopen("/proc/vmstat", "r"); char line[256];
  printf("%s:", tag);
  while (fgets(line, sizeof line, f)) if (!strncmp(line, "direct_map", 10)) { line[strcspn(line, "\n")] = 0; printf(" %s", line); }
  fclose(f);
  f = fopen("/proc/meminfo", "r");
  while (fgets(line, sizeof line, f)) if (!strncmp(line, "DirectMap", 9)) { line[strcspn(line, "\n")] = 0; printf(" | %s", line); }
  fclose(f); printf("\n");
}
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1;
  show("before");
  int fd = syscall(447 /* memfd_secret */, 0);
  if (fd < 0) { perror("memfd_secret"); return 1; }
  if (ftruncate(fd, n * 4096)) { perror("ftruncate"); return 1; }
  char *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  for (long i = 0; i < n; i++) p[i * 4096] = 1;
  show("after touching");
  munmap(p, n * 4096); close(fd);
  show("after close");
  return 0;
}
