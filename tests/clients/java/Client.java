// pgjdbc through a Tapgate forwarder, for tests/tests/e2e/clients.rs.
//
// Usage: java -cp DIR:/usr/share/java/postgresql.jar Client JDBC_URL
// Connects with the URL `tapgate dsn --format jdbc` prints (TCP, or the Unix-domain socket with
// junixsocket's socket factory on the class path), then prints `current_user|application_name`
// of its own session on one line. pgjdbc names itself in application_name ("PostgreSQL JDBC
// Driver"). The driver's version goes to stderr; a failed connection's message too, with exit
// status 1.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public final class Client {
    public static void main(String[] args) {
        System.exit(run(args[0]));
    }

    private static int run(String url) {
        DriverManager.setLoginTimeout(10);
        try (Connection conn = DriverManager.getConnection(url);
                Statement statement = conn.createStatement()) {
            System.err.println("pgjdbc " + conn.getMetaData().getDriverVersion()
                    + ", Java " + System.getProperty("java.version"));
            ResultSet row = statement.executeQuery("select current_user, application_name"
                    + " from pg_stat_activity where pid = pg_backend_pid()");
            row.next();
            System.out.println(row.getString(1) + "|" + row.getString(2));
            return 0;
        } catch (SQLException error) {
            System.err.println("pgjdbc: " + error.getMessage());
            return 1;
        }
    }
}
