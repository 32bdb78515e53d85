const [n, ...values] = require("fs").readFileSync(0, "utf8").split(/\s+/).filter(Boolean).map(BigInt);
let best = 0n;
let run = 0n;
values.slice(0, Number(n)).forEach((x, i) => {
  run = i === 0 || run < 0n ? x : run + x;
  if (i === 0 || run > best) best = run;
});
console.log(best.toString());
