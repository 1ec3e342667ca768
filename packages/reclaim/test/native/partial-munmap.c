#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
static long vmpte(void){FILE*f=fopen("/proc/self/status","r");char l[256];long v=-1;while(fgets(l,sizeof l,f))if(!strncmp(l,"VmPTE:",6))v=atol(l+6);fclose(f);return v;}
#define M2 (2UL<<20)
int main(void){
  char*raw=mmap(NULL,3*M2,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  char*p=(char*)(((unsigned long)raw+M2-1)&~(M2-1));
  madvise(p,2*M2,MADV_NOHUGEPAGE);
  long b=vmpte();
  for(size_t i=0;i<M2/2;i+=4096)p[i]=1;
  printf("written 1 MiB: dVmPTE=%ld kB\n",vmpte()-b);
  munmap(p,M2/2);
  printf("munmap the written 1 MiB (rest of the 2 MiB still mapped): dVmPTE=%ld kB\n",vmpte()-b);
  return 0;}
