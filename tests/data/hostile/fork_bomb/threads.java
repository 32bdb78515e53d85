public class Main { public static void main(String[] a) { for (;;) { new Thread(() -> { for (;;) {} }).start(); } } }
