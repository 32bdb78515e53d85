public class Main { public static void main(String[] a) { long i = 0; while (true) i++; } }
