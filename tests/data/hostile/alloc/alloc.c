#include <stdlib.h>
#include <string.h>
#include <stdio.h>
int main(void){ size_t total=0; for(;;){ char*p=malloc(1<<26); if(!p){ fprintf(stderr,"malloc failed after %zu MB\n", total>>20); abort(); } memset(p,1,1<<26); total+=1<<26; } }
