constexpr long spin() { long n = 0; for (long i = 0; i < 200000; ++i) for (long j = 0; j < 200000; ++j) for (long k = 0; k < 200000; ++k) ++n; return n; }
constexpr long v = spin();
int main() { return v == 0; }
