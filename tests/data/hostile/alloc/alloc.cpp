#include <vector>
#include <iostream>
int main(){ std::vector<std::vector<char>> v; for(;;) v.emplace_back(1<<26, 1); }
