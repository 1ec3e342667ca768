/*
 * Where do page tables land? Touches one byte per 2 MiB of a fresh anonymous mapping, so each
 * touch allocates one PTE table (GFP_PGTABLE_USER, unmovable) and one user page (movable), and
 * prints the Normal zone rows of /proc/pagetypeinfo and nr_page_table_pages before and after.
 * Compare with the "page-table placement" scenario of bench/index.ts.
 *
 *   gcc -O2 -o pagetable-placement pagetable-placement.c && sudo ./pagetable-placement 100000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void dump(const char *tag)
{
	char line[512];
	int blocks = 0;
	FILE *f = fopen("/proc/pagetypeinfo", "r");

	printf("== %s\n", tag);
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "Number of blocks"))
			blocks = 1;
		if (blocks || strstr(line, "Normal, type"))
			fputs(line, stdout);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/vmstat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "nr_page_table_pages ", 20) || !strncmp(line, "nr_free_pages ", 14))
			fputs(line, stdout);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	size_t len = (size_t)n << 21;
	char *p;

	dump("before");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	for (long i = 0; i < n; i++)
		p[(size_t)i << 21] = 1;
	dump("after");
	return 0;
}
