/*
 * kmodel mm kernel probe: runs the operations given on the command line in one process and
 * prints VmPTE and RssAnon (from /proc/self/status) as deltas against the start.
 * Build: gcc -O2 -o probe probe.c     Example (the zero-page attack over 16 GiB):
 *   ./probe m 0x100000000000 16G r 0x100000000000 16G 2M s touched d 0x100000000000 16G s dontneed
 * Ops: m ADDR SIZE (mmap NORESERVE, FIXED_NOREPLACE when ADDR != 0), mp ADDR SIZE (MAP_POPULATE),
 *      r|w ADDR SIZE STRIDE (read / write one byte per stride), d|f|h|nh|pr|pw ADDR SIZE
 *      (MADV_DONTNEED / FREE / HUGEPAGE / NOHUGEPAGE / POPULATE_READ / POPULATE_WRITE),
 *      D ADDR SIZE STEP N (N DONTNEED calls), U ADDR SIZE STEP N (N munmap calls),
 *      u ADDR SIZE (munmap), p / P / W ADDR SIZE (mprotect PROT_READ / PROT_NONE / PROT_READ|PROT_WRITE),
 *      s LABEL (status), fork (child prints status).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <errno.h>
#include <sys/wait.h>
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
static long st(const char*k){FILE*f=fopen("/proc/self/status","r");char l[256];long v=-1;size_t n=strlen(k);
 while(fgets(l,sizeof l,f)) if(!strncmp(l,k,n)&&l[n]==':'){v=atol(l+n+1);break;}
 fclose(f);return v;}
static long pte0,rss0;
static void status(const char*lab){printf("%-12s VmPTE %+ld kB RssAnon %+ld kB\n",lab,st("VmPTE")-pte0,st("RssAnon")-rss0);fflush(stdout);}
static unsigned long P(const char*s){return strtoul(s,0,0);}
static unsigned long sz(const char*s){char*e;unsigned long v=strtoul(s,&e,0);if(*e=='K')v<<=10;if(*e=='M')v<<=20;if(*e=='G')v<<=30;if(*e=='T')v<<=40;return v;}
int main(int c,char**v){ printf("start\n");fflush(stdout);pte0=st("VmPTE");rss0=st("RssAnon");
 for(int i=1;i<c;i++){ char*op=v[i];
  if(!strcmp(op,"m")){unsigned long a=P(v[++i]),s=sz(v[++i]);void*p=mmap((void*)a,s,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|(a?MAP_FIXED_NOREPLACE:0),-1,0);
    if(p==MAP_FAILED)printf("mmap fail %s\n",strerror(errno)); else printf("mmap %p\n",p);}
  else if(!strcmp(op,"mp")){unsigned long a=P(v[++i]),s=sz(v[++i]);void*p=mmap((void*)a,s,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE|MAP_FIXED_NOREPLACE,-1,0); if(p==MAP_FAILED)printf("mmap fail %s\n",strerror(errno));}
  else if(!strcmp(op,"r")||!strcmp(op,"w")){unsigned long a=P(v[++i]),s=sz(v[++i]),t=sz(v[++i]);volatile char x=0;
    for(unsigned long o=0;o<s;o+=t){ if(op[0]=='r') x+=*(volatile char*)(a+o); else *(volatile char*)(a+o)=1;} }
  else if(!strcmp(op,"d")||!strcmp(op,"f")||!strcmp(op,"h")||!strcmp(op,"nh")||!strcmp(op,"pr")||!strcmp(op,"pw")){
    unsigned long a=P(v[++i]),s=sz(v[++i]);int adv=!strcmp(op,"d")?MADV_DONTNEED:!strcmp(op,"f")?MADV_FREE:!strcmp(op,"h")?MADV_HUGEPAGE:!strcmp(op,"nh")?MADV_NOHUGEPAGE:!strcmp(op,"pr")?MADV_POPULATE_READ:MADV_POPULATE_WRITE;
    if(madvise((void*)a,s,adv))printf("madvise fail %s\n",strerror(errno));}
  else if(!strcmp(op,"D")){ /* dontneed repeat: a size step count */ unsigned long a=P(v[++i]),s=sz(v[++i]),t=sz(v[++i]);long n=atol(v[++i]);
    for(long k=0;k<n;k++) if(madvise((void*)(a+k*t),s,MADV_DONTNEED))printf("madvise fail %s\n",strerror(errno));}
  else if(!strcmp(op,"U")){ unsigned long a=P(v[++i]),s=sz(v[++i]),t=sz(v[++i]);long n=atol(v[++i]);
    for(long k=0;k<n;k++) if(munmap((void*)(a+k*t),s))printf("munmap fail %s\n",strerror(errno));}
  else if(!strcmp(op,"u")){unsigned long a=P(v[++i]),s=sz(v[++i]); if(munmap((void*)a,s))printf("munmap fail %s\n",strerror(errno));}
  else if(!strcmp(op,"p")){unsigned long a=P(v[++i]),s=sz(v[++i]); if(mprotect((void*)a,s,PROT_READ))printf("mprotect fail %s\n",strerror(errno));}
  else if(!strcmp(op,"P")||!strcmp(op,"W")){unsigned long a=P(v[++i]),s=sz(v[++i]); if(mprotect((void*)a,s,op[0]=='P'?PROT_NONE:PROT_READ|PROT_WRITE))printf("mprotect fail %s\n",strerror(errno));}
  else if(!strcmp(op,"s")) status(v[++i]);
  else if(!strcmp(op,"fork")){ fflush(stdout); pid_t pid=fork(); if(pid==0){ status("child"); _exit(0);} waitpid(pid,0,0);}
  else {printf("bad op %s\n",op);return 1;}
 } return 0; }
