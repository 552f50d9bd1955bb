// The Hive Metastore (2.3.9) as Lakeform serves it, on both runtimes. It builds the same server as
// HiveMetaStore's startMetaStore does without SASL or SSL (HMSHandler behind the retrying proxy,
// the set_ugi processor and transport, binary protocol, a thread-pool server) and starts the
// metastore's own background threads (lock/transaction housekeeping, which times out locks of a
// killed client) through the private method startMetaStore uses, with two differences:
//
// 1. The Thrift socket is bound to the address given (127.0.0.1 by default): HiveMetaStore.main
//    binds every interface and has no bind-host setting. The local runtime serves loopback only; a
//    container serves its own network (0.0.0.0 inside it, never published).
// 2. A table's entry is read and written whole. On Derby at read-committed (the metastore's
//    default isolation) a get_table is several SELECTs (the table, its storage descriptor, serde,
//    columns, parameters), so a get_table beside an alter_table could return half of each: during
//    a rebuild's swap of an Iceberg entry for a Hudi one, Trino saw the Hudi serde with Iceberg's
//    input format ("Unsupported storage format"). Calls that change table or partition entries take
//    a write lock and calls that read them a read lock, so a reader sees the entry before a change
//    or after it. (Raising the isolation to repeatable-read instead makes Derby deadlock reader
//    against writer, each detected only after derby.locks.deadlockTimeout.)
// 3. One call replaces a table's entry by another's, partitions and all: alter_table_with_environment_context
//    whose context names the entry to take (lakeform.replace.from) and the name the replaced one
//    keeps (lakeform.replace.keep) renames the table to the kept name and the other entry to the
//    table's, both under the write lock, so a reader finds the old entry or the new one and never
//    none. Hive's alter_table can't do it: it refuses to change an entry's partition keys, and a
//    partitioned table's partitions are entries of their own at locations under the table's, which
//    a rename carries along with it (both entries must be external tables: a rename moves no files).
//    A rebuild of a partitioned Hudi table is swapped in with it. getMetaConf of
//    lakeform.replace answers "1" here, and a stock metastore refuses the key: what a client checks.
//
// Run with Java's single-file launcher: java -cp <hive jars> MetastoreServer.java <port> [<bind address>]
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Pattern;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.metastore.api.EnvironmentContext;
import org.apache.hadoop.hive.metastore.api.InvalidOperationException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;

public class MetastoreServer {
  /** Calls that change a table's or a partition's entry. */
  static final Pattern WRITES = Pattern.compile(
      "^(create_table|drop_table|alter_table|truncate_table|add_partition|append_partition|alter_partition|drop_partition|rename_partition|exchange_partition).*");
  /** Calls that read one (get_tables / get_all_tables only list names: no lock). */
  static final Pattern READS = Pattern.compile("^(get_table$|get_table_req|get_table_objects_by_name|get_partition|get_fields|get_schema).*");

  static final String REPLACE_FROM = "lakeform.replace.from";
  static final String REPLACE_KEEP = "lakeform.replace.keep";
  static final String CAPABILITY = "lakeform.replace";

  static boolean external(Table t) {
    return "EXTERNAL_TABLE".equals(t.getTableType()) && "TRUE".equalsIgnoreCase(t.getParameters() == null ? null : t.getParameters().get("EXTERNAL"));
  }

  /** 3. above: `name` is renamed `keep`, `from` is renamed `name` (the caller holds the write lock). */
  static Object replace(IHMSHandler handler, String db, String name, String from, String keep) throws Exception {
    if (keep == null || keep.isEmpty() || keep.equalsIgnoreCase(name) || from.equalsIgnoreCase(name)) {
      throw new InvalidOperationException("lakeform.replace: " + REPLACE_KEEP + " must name a third entry, beside " + db + "." + name + " and " + db + "." + from);
    }
    Table live = handler.get_table(db, name);
    Table by = handler.get_table(db, from);
    if (!external(live) || !external(by)) {
      throw new InvalidOperationException("lakeform.replace: " + db + "." + name + " and " + db + "." + from + " must both be external tables (a rename moves no files then)");
    }
    Table kept = live.deepCopy();
    kept.setTableName(keep);
    handler.alter_table_with_environment_context(db, name, kept, null);
    Table taken = by.deepCopy();
    taken.setTableName(name);
    try {
      handler.alter_table_with_environment_context(db, from, taken, null);
    } catch (Exception e) {
      live.setTableName(name);
      handler.alter_table_with_environment_context(db, keep, live, null);
      throw e;
    }
    return null;
  }

  /** The handler with table entries read and written whole (see 2. above), and entries replaced whole (3.). */
  static IHMSHandler entriesWhole(IHMSHandler handler) {
    ReentrantReadWriteLock entries = new ReentrantReadWriteLock();
    InvocationHandler locked = (proxy, method, args) -> {
      String name = method.getName();
      if (name.equals("getMetaConf") && CAPABILITY.equals(args[0])) return "1";
      Lock lock = WRITES.matcher(name).matches() ? entries.writeLock() : READS.matcher(name).matches() ? entries.readLock() : null;
      if (lock != null) lock.lock();
      try {
        if (name.equals("alter_table_with_environment_context") && args[3] instanceof EnvironmentContext) {
          Map<String, String> props = ((EnvironmentContext) args[3]).getProperties();
          String from = props == null ? null : props.get(REPLACE_FROM);
          if (from != null) return replace(handler, (String) args[0], (String) args[1], from, props.get(REPLACE_KEEP));
        }
        return method.invoke(handler, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      } finally {
        if (lock != null) lock.unlock();
      }
    };
    return (IHMSHandler) Proxy.newProxyInstance(IHMSHandler.class.getClassLoader(), new Class<?>[] {IHMSHandler.class}, locked);
  }

  public static void main(String[] args) throws Throwable {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: MetastoreServer <port> [<bind address>]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    InetAddress bind = args.length > 1 ? InetAddress.getByName(args[1]) : InetAddress.getLoopbackAddress();
    HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
    if (conf.getBoolVar(HiveConf.ConfVars.METASTORE_USE_THRIFT_SASL) || conf.getBoolVar(HiveConf.ConfVars.HIVE_METASTORE_USE_SSL)
        || conf.getBoolVar(HiveConf.ConfVars.METASTORE_USE_THRIFT_FRAMED_TRANSPORT)) {
      throw new IllegalStateException("MetastoreServer serves plain Thrift only (no SASL, SSL or framed transport)");
    }
    // What HiveMetaStore.main records before serving: handlers then act as a remote metastore.
    Field remote = HiveMetaStore.class.getDeclaredField("isMetaStoreRemote");
    remote.setAccessible(true);
    remote.setBoolean(null, true);

    long maxMessageSize = conf.getLongVar(HiveConf.ConfVars.METASTORESERVERMAXMESSAGESIZE);
    IHMSHandler handler = entriesWhole(HiveMetaStore.newRetryingHMSHandler(new HiveMetaStore.HMSHandler("new db based metaserver", conf, false), conf));
    TServerSocket socket = new TServerSocket(new InetSocketAddress(bind, port));
    TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
        .processor(new TUGIBasedProcessor<>(handler))
        .transportFactory(new TUGIContainingTransport.Factory())
        .protocolFactory(new TBinaryProtocol.Factory())
        .inputProtocolFactory(new TBinaryProtocol.Factory(true, true, maxMessageSize, maxMessageSize))
        .minWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMINTHREADS))
        .maxWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMAXTHREADS));
    TServer server = new TThreadPoolServer(serverArgs);

    Lock lock = new ReentrantLock();
    Condition started = lock.newCondition();
    AtomicBoolean serving = new AtomicBoolean(false);
    Method threads = HiveMetaStore.class.getDeclaredMethod("startMetaStoreThreads", HiveConf.class, Lock.class, Condition.class, AtomicBoolean.class);
    threads.setAccessible(true);
    threads.invoke(null, conf, lock, started, serving);
    Method signal = HiveMetaStore.class.getDeclaredMethod("signalOtherThreadsToStart", TServer.class, Lock.class, Condition.class, AtomicBoolean.class);
    signal.setAccessible(true);
    signal.invoke(null, server, lock, started, serving);
    System.out.println("lakeform: metastore serving on " + bind.getHostAddress() + ":" + port);
    server.serve();
  }
}
