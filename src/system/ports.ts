/**
 * Who listens on local TCP ports of this host, read from the kernel's own
 * tables rather than from `ss` (iproute2, which the package does not
 * depend on): the LISTEN rows of /proc/net/tcp and /proc/net/tcp6 give
 * each listening socket's port and inode, and the `socket:[INODE]` links
 * under /proc/PID/fd tell whose it is. Host facts, whatever --root is,
 * seen from this process's network namespace, as `ss` sees them.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The socket state /proc/net/tcp writes for LISTEN. */
const LISTEN = "0A";

/** The inodes of the listening TCP sockets on `ports`, by inode; null when the kernel's tables cannot be read. */
function listeningSockets(ports: ReadonlySet<number>): Map<string, number> | null {
  const out = new Map<string, number>();
  let read = false;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // a kernel without IPv6 has no tcp6
    }
    read = true;
    // `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …`, after a heading line.
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const port = parseInt(f[1]?.split(":")[1] ?? "", 16);
      if (f[3] === LISTEN && ports.has(port) && f[9]) out.set(f[9], port);
    }
  }
  return read ? out : null;
}

/** The names of the files in `dir`, or none when it cannot be read (a process that ended, or not ours to look at). */
function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The command name of process `pid`, as the kernel keeps it. */
function commandName(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/**
 * For each of `ports` something listens on, its holders as `NAME (pid N)`;
 * a port whose holder this process may not look at (not root) has an
 * empty list; a free port is absent. Null when /proc/net/tcp cannot be read.
 */
export function tcpListeners(ports: Iterable<number>): Map<number, string[]> | null {
  const sockets = listeningSockets(new Set(ports));
  if (!sockets) return null;
  const out = new Map<number, string[]>([...sockets.values()].map((port) => [port, []]));
  if (sockets.size === 0) return out;
  for (const pid of namesIn("/proc").filter((name) => /^\d+$/.test(name))) {
    for (const fd of namesIn(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const port = sockets.get(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? "");
      const holder = port === undefined ? null : `${commandName(pid)} (pid ${pid})`;
      if (port !== undefined && holder && !out.get(port)!.includes(holder)) out.get(port)!.push(holder);
    }
  }
  return out;
}
