import sys

n, *values = map(int, sys.stdin.read().split())
best = run = values[0]
for x in values[1:n]:
    run = max(x, run + x)
    best = max(best, run)
print(best)
