const [n, ...values] = require("fs").readFileSync(0, "utf8").split(/\s+/).filter(Boolean).map(Number);
let best = 0;
let run = 0;
values.slice(0, n).forEach((x) => {
  run = Math.max(0, run + x);
  best = Math.max(best, run);
});
console.log(String(best));
