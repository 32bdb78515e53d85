#include <stdio.h>

int main(void) {
    int n;
    if (scanf("%d", &n) != 1) return 1;
    int best = 0, run = 0;
    for (int i = 0; i < n; i++) {
        int x;
        scanf("%d", &x);
        run = (i == 0 || run < 0) ? x : run + x;
        if (i == 0 || run > best) best = run;
    }
    printf("%d\n", best);
    return 0;
}
