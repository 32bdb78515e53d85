template <int N, int M> struct A { static constexpr long v = A<N - 1, 2 * M>::v + A<N - 1, 2 * M + 1>::v; };
template <int M> struct A<0, M> { static constexpr long v = M; };
int main() { return A<40, 1>::v == 0; }
