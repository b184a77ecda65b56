import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A tiny TCP listener for the quickstart's peer namespace: accepts on every port given (IPv4 and
 * IPv6, dual-stack), writes one line and closes, until killed. Run as a single-file program:
 * {@code java scripts/lib/Listen.java 8443 8444}.
 */
public final class Listen {
    public static void main(String[] args) throws Exception {
        for (String arg : args) {
            int port = Integer.parseInt(arg);
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(port));
            Thread t = new Thread(() -> serve(server, port), "listen-" + port);
            t.start();
        }
        System.out.println("listening on " + String.join(",", args));
        System.out.flush();
    }

    private static void serve(ServerSocket server, int port) {
        while (true) {
            try (Socket s = server.accept()) {
                s.getOutputStream().write(("hello from port " + port + "\n").getBytes());
            } catch (IOException e) {
                // keep serving
            }
        }
    }
}
