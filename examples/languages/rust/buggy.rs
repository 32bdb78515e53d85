use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut numbers = input.split_whitespace().map(|t| t.parse::<i32>().unwrap());
    let n = numbers.next().unwrap() as usize;
    let (mut best, mut run) = (i32::MIN, 0i32);
    for x in numbers.take(n) {
        run = if run < 0 || best == i32::MIN { x } else { run + x };
        best = best.max(run);
    }
    println!("{}", best);
}
