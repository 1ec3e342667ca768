#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
static long vmpte(void){FILE*f=fopen("/proc/self/status","r");char l[256];long v=-1;while(fgets(l,sizeof l,f))if(!strncmp(l,"VmPTE:",6))v=atol(l+6);fclose(f);return v;}
#define M2 (2UL<<20)
int main(void){
  size_t n=64; size_t len=n*M2;
  char*raw=mmap(NULL,len+M2,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0);
  char*p=(char*)(((unsigned long)raw+M2-1)&~(M2-1));
  madvise(p,len,MADV_NOHUGEPAGE);
  long b=vmpte();
  for(size_t i=0;i<len;i+=4096)p[i]=1;
  printf("written 64 tables: dVmPTE=%ld kB\n",vmpte()-b);
  madvise(p,16*M2,MADV_DONTNEED);
  printf("DONTNEED 16 whole 2MiB: dVmPTE=%ld kB\n",vmpte()-b);
  for(size_t t=16;t<32;t++){madvise(p+t*M2,M2/2,MADV_DONTNEED);madvise(p+t*M2+M2/2,M2/2,MADV_DONTNEED);}
  printf("DONTNEED 16 tables in 1MiB halves: dVmPTE=%ld kB\n",vmpte()-b);
  madvise(p+32*M2,16*M2,MADV_FREE);
  printf("MADV_FREE 16 tables: dVmPTE=%ld kB\n",vmpte()-b);
  madvise(p+47*M2+4096,M2*17-4096,MADV_DONTNEED);
  printf("DONTNEED unaligned [47*2M+4K, 64*2M): dVmPTE=%ld kB\n",vmpte()-b);
  /* zero-page tables */
  char*q=(char*)(((unsigned long)mmap(NULL,len+M2,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0)+M2-1)&~(M2-1));
  madvise(q,len,MADV_NOHUGEPAGE);
  long c=vmpte(); volatile char s=0;
  for(size_t i=0;i<len;i+=M2)s+=q[i];
  printf("sparse read 64 tables: dVmPTE=%ld kB\n",vmpte()-c);
  for(size_t i=0;i<len;i+=4096)s+=q[i];
  printf("dense read: dVmPTE=%ld kB (zero-only tables)\n",vmpte()-c);
  madvise(q,len,MADV_DONTNEED);
  printf("DONTNEED all zero-only: dVmPTE=%ld kB\n",vmpte()-c);
  return 0;}
