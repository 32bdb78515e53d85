fn render(xs: Vec<i64>, sep: String, scale: f64) -> Vec<String> {
    xs.iter().map(|x| format!("{:?}{}{}", *x as f64 * scale, sep, x)).collect()
}
