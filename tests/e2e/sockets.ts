/**
 * The listening TCP sockets of a lakehouse's processes, read from /proc: every process in the
 * process group of each pid file under the stack's data dir (a service's wrapper shell, JVM,
 * Python workers, supervisor and child), its socket inodes from /proc/<pid>/fd matched against
 * the LISTEN entries of /proc/net/tcp and /proc/net/tcp6.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface Listener {
  service: string;
  pid: number;
  command: string;
  address: string;
  port: number;
}

/** Every pid file under dir (the services' own: <dataDir>/<service>/<service>.pid), with its pid. */
export function servicePids(dataDir: string): { service: string; pid: number }[] {
  const out: { service: string; pid: number }[] = [];
  for (const entry of fs.readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = path.join(dataDir, entry.name, `${entry.name}.pid`);
    if (!fs.existsSync(file)) continue;
    const pid = Number(JSON.parse(fs.readFileSync(file, "utf8")).pid);
    if (pid > 0 && fs.existsSync(`/proc/${pid}`)) out.push({ service: entry.name, pid });
  }
  return out;
}

function stat(pid: number): { ppid: number; pgid: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), pgid: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

/** The process and everything it started: same process group, or a descendant by parent pid. */
export function familyOf(leader: number): number[] {
  const all = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  const info = new Map(all.map((p) => [p, stat(p)]));
  const family = new Set<number>([leader]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, s] of info) {
      if (!s || family.has(p)) continue;
      if (s.pgid === leader || family.has(s.ppid)) {
        family.add(p);
        grew = true;
      }
    }
  }
  return [...family];
}

/** "0100007F:1F90" (IPv4, little-endian words) or the 32-hex-digit IPv6 form → address text. */
export function decodeAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let i = 3; i >= 0; i--) bytes.push(parseInt(word.slice(i * 2, i * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join(".")}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || /^::ffff:127\./.test(address) || address === "::1";
}

/** LISTEN sockets (state 0A) by inode, from /proc/net/tcp and tcp6. */
function listeningByInode(): Map<string, { address: string; port: number }> {
  const out = new Map<string, { address: string; port: number }>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue;
      const [addr, port] = cols[1].split(":");
      out.set(cols[9], { address: decodeAddress(addr), port: parseInt(port, 16) });
    }
  }
  return out;
}

/** Every listening socket held by the lakehouse's processes under dataDir. */
export function lakehouseListeners(dataDir: string): Listener[] {
  const listening = listeningByInode();
  const out: Listener[] = [];
  for (const { service, pid: leader } of servicePids(dataDir)) {
    for (const pid of familyOf(leader)) {
      let fds: string[] = [];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      let command = "";
      try {
        command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").slice(0, 160);
      } catch {
        /* gone */
      }
      const seen = new Set<string>();
      for (const fd of fds) {
        let link: string;
        try {
          link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (!m || seen.has(m[1])) continue;
        seen.add(m[1]);
        const l = listening.get(m[1]);
        if (l) out.push({ service, pid, command, ...l });
      }
    }
  }
  return out;
}
