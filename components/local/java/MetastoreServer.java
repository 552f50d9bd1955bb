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
//
// Run with Java's single-file launcher: java -cp <hive jars> MetastoreServer.java <port> [<bind address>]
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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

  /** The handler with table entries read and written whole (see 2. above). */
  static IHMSHandler entriesWhole(IHMSHandler handler) {
    ReentrantReadWriteLock entries = new ReentrantReadWriteLock();
    InvocationHandler locked = (proxy, method, args) -> {
      String name = method.getName();
      Lock lock = WRITES.matcher(name).matches() ? entries.writeLock() : READS.matcher(name).matches() ? entries.readLock() : null;
      if (lock != null) lock.lock();
      try {
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
