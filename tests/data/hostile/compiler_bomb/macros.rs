#![recursion_limit = "256"]
macro_rules! boom { () => { 1 }; ($h:tt $($t:tt)*) => { boom!($($t)*) + boom!($($t)*) }; }
fn main() { let x: u64 = boom!(a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a); println!("{}", x); }
