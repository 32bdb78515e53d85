#include <stdio.h>

int main(void) {
    int n;
    if (scanf("%d", &n) != 1) return 1;
    long long best = 0, run = 0;
    for (int i = 0; i < n; i++) {
        long long x;
        scanf("%lld", &x);
        run = (i == 0 || run < 0) ? x : run + x;
        if (i == 0 || run > best) best = run;
    }
    printf("%lld\n", best);
    return 0;
}
