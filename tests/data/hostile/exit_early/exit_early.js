process.exit(0);
console.log("never");
