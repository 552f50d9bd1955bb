// The job server's Spark UI answers only Lakeform's users: a servlet filter on every handler of
// the driver's web UI (spark.ui.filters, which Spark applies to all its pages, static files and
// its REST API /api/v1), since Spark itself authenticates RPC, not HTTP, and loopback is not a
// boundary. A request passes when it is addressed to the UI's own host and port (Host; a page of
// another site that rebinds its name to 127.0.0.1 still names that site), comes from no other
// site's page (Origin), only reads (GET, HEAD: the UI's kill links are off too) and carries HTTP
// Basic credentials whose password is the one the plan gave (any user name). Only the password's
// SHA-256 is in the driver's configuration (passwordSha256; Spark redacts keys naming a password
// in its Environment page and logs anyway). Compiled by the job server's start command
// (components/spark/localPlan.ts) against the servlet API pyspark ships.
package lakeform;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.FilterConfig;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

public final class SparkUiAuthFilter implements Filter {
  private byte[] expected;
  private Set<String> hosts;

  @Override
  public void init(FilterConfig config) throws ServletException {
    String hex = config.getInitParameter("passwordSha256");
    if (hex == null || !hex.matches("[0-9a-f]{64}")) throw new ServletException("SparkUiAuthFilter: passwordSha256 (64 hex digits) is required");
    expected = HexFormat.of().parseHex(hex);
    String list = config.getInitParameter("hosts");
    if (list == null || list.isBlank()) throw new ServletException("SparkUiAuthFilter: hosts (host:port, comma-separated) is required");
    hosts = new HashSet<>(Arrays.asList(list.toLowerCase(Locale.ROOT).split(",")));
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
    HttpServletRequest req = (HttpServletRequest) request;
    HttpServletResponse res = (HttpServletResponse) response;
    String host = req.getHeader("Host");
    if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
      res.sendError(403, "requests to this UI must be addressed to " + String.join(", ", hosts));
      return;
    }
    String origin = req.getHeader("Origin");
    if (origin != null && !(hosts.contains(stripScheme(origin)))) {
      res.sendError(403, "a request from another site's page is refused");
      return;
    }
    String method = req.getMethod();
    if (!"GET".equals(method) && !"HEAD".equals(method)) {
      res.setHeader("Allow", "GET, HEAD");
      res.sendError(405, "this UI only reads");
      return;
    }
    if (!authorized(req.getHeader("Authorization"))) {
      res.setHeader("WWW-Authenticate", "Basic realm=\"Lakeform Spark UI (password: the API's read token)\", charset=\"UTF-8\"");
      res.sendError(401, "the password is the API's read token: lakeform outputs apiReadToken --show-secrets");
      return;
    }
    chain.doFilter(request, response);
  }

  private static String stripScheme(String origin) {
    int i = origin.indexOf("://");
    return (i < 0 ? origin : origin.substring(i + 3)).toLowerCase(Locale.ROOT);
  }

  private boolean authorized(String header) {
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) return false;
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return false;
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) return false;
    try {
      byte[] got = MessageDigest.getInstance("SHA-256").digest(decoded.substring(colon + 1).getBytes(StandardCharsets.UTF_8));
      return MessageDigest.isEqual(got, expected);
    } catch (NoSuchAlgorithmException e) {
      return false;
    }
  }

  @Override
  public void destroy() {}
}
