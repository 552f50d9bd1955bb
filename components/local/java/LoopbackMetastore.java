// The Hive Metastore (2.3.9) served on 127.0.0.1 only. HiveMetaStore.main binds its Thrift socket
// to every interface and has no bind-host setting, so this builds the same server as its
// startMetaStore does without SASL or SSL (HMSHandler behind the retrying proxy, the set_ugi
// processor and transport, binary protocol, a thread-pool server) on a socket bound to the
// loopback address, and starts the metastore's own background threads (lock/transaction
// housekeeping, which times out locks of a killed client) through the private method
// startMetaStore uses. Run with Java's single-file launcher: java -cp <hive jars> LoopbackMetastore.java <port>
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TUGIBasedProcessor;
import org.apache.hadoop.hive.thrift.TUGIContainingTransport;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;

public class LoopbackMetastore {
  public static void main(String[] args) throws Throwable {
    if (args.length != 1) {
      System.err.println("usage: LoopbackMetastore <port>");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
    if (conf.getBoolVar(HiveConf.ConfVars.METASTORE_USE_THRIFT_SASL) || conf.getBoolVar(HiveConf.ConfVars.HIVE_METASTORE_USE_SSL)
        || conf.getBoolVar(HiveConf.ConfVars.METASTORE_USE_THRIFT_FRAMED_TRANSPORT)) {
      throw new IllegalStateException("LoopbackMetastore serves plain Thrift only (no SASL, SSL or framed transport)");
    }
    // What HiveMetaStore.main records before serving: handlers then act as a remote metastore.
    Field remote = HiveMetaStore.class.getDeclaredField("isMetaStoreRemote");
    remote.setAccessible(true);
    remote.setBoolean(null, true);

    long maxMessageSize = conf.getLongVar(HiveConf.ConfVars.METASTORESERVERMAXMESSAGESIZE);
    IHMSHandler handler = HiveMetaStore.newRetryingHMSHandler(new HiveMetaStore.HMSHandler("new db based metaserver", conf, false), conf);
    TServerSocket socket = new TServerSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
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
    System.out.println("lakeform: metastore serving on " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + port);
    server.serve();
  }
}
