import sys

n, *values = map(int, sys.stdin.read().split())
best = run = 0
for x in values[:n]:
    run = max(0, run + x)
    best = max(best, run)
print(best)
