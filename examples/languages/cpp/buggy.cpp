#include <algorithm>
#include <iostream>

int main() {
    int n;
    std::cin >> n;
    int best = 0, run = 0;
    for (int i = 0; i < n; ++i) {
        int x;
        std::cin >> x;
        run = (i == 0 || run < 0) ? x : run + x;
        best = i == 0 ? run : std::max(best, run);
    }
    std::cout << best << '\n';
}
