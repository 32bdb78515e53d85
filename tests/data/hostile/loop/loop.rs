fn main() {
    let mut i: u64 = 1;
    loop {
        i = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if i == 0 { break; }
    }
    println!("{}", i);
}
