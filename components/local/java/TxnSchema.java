// Creates the Hive Metastore's transaction tables (HIVE_LOCKS, TXNS, ...) on its Derby database
// when they're missing. Datanucleus' autoCreateAll makes only the catalog tables; HMS table locks,
// which Iceberg's HiveCatalog and Trino take on every commit, live in these. Run with Java's
// single-file launcher before the metastore starts (embedded Derby allows one JVM at a time).
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.txn.TxnDbUtil;

public class TxnSchema {
  public static void main(String[] args) throws Exception {
    HiveConf conf = new HiveConf();
    String url = conf.getVar(HiveConf.ConfVars.METASTORECONNECTURLKEY);
    try (Connection c = DriverManager.getConnection(url)) {
      try (ResultSet rs = c.getMetaData().getTables(null, null, "HIVE_LOCKS", null)) {
        if (rs.next()) {
          System.out.println("lakeform: metastore transaction tables present");
          return;
        }
      }
    }
    TxnDbUtil.prepDb(conf);
    System.out.println("lakeform: created the metastore transaction tables");
  }
}
