public class Main { public static void main(String[] a) { Runtime.getRuntime().halt(0); } }
