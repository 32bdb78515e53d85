import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.StringTokenizer;

public class Main {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringTokenizer tokens = new StringTokenizer(in.readLine());
        int n = Integer.parseInt(tokens.nextToken());
        tokens = new StringTokenizer(in.readLine());
        long best = 0, run = 0;
        for (int i = 0; i < n; i++) {
            long x = Long.parseLong(tokens.nextToken());
            run = (i == 0 || run < 0) ? x : run + x;
            best = i == 0 ? run : Math.max(best, run);
        }
        System.out.println(best);
    }
}
