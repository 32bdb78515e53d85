use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut numbers = input.split_whitespace().map(|t| t.parse::<i64>().unwrap());
    let n = numbers.next().unwrap() as usize;
    let (mut best, mut run) = (i64::MIN, 0i64);
    for x in numbers.take(n) {
        run = if run < 0 || best == i64::MIN { x } else { run + x };
        best = best.max(run);
    }
    println!("{}", best);
}
