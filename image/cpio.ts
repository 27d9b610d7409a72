/**
 * The "newc" cpio format the Linux kernel unpacks an initramfs from (Documentation/driver-api/
 * early-userspace/buffer-format.rst). Written here rather than with cpio(1) so the archive is the
 * same bytes on every machine for the same contents (inode numbers in order, mtime 0, owner root),
 * which the image cache's key relies on, and so device nodes (/dev/console) need no root to make.
 */

export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Buffer; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "char"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, mode: number, name: string, data: Buffer, rdev: [number, number] = [0, 0]): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, "utf8");
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join("")}`, "ascii");
  return Buffer.concat([header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)]);
}

/** The archive of `entries` in the order given (parents before children), with its trailer. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const name = e.path.replace(/^\/+/, "");
    if (!name || name.split("/").some((s) => s === ".." || s === "")) throw new Error(`cpio: bad path ${JSON.stringify(e.path)}`);
    const ino = i + 1;
    switch (e.type) {
      case "dir":
        parts.push(record(ino, S_IFDIR | (e.mode ?? 0o755), name, Buffer.alloc(0)));
        break;
      case "file":
        parts.push(record(ino, S_IFREG | (e.mode ?? 0o644), name, e.data));
        break;
      case "symlink":
        parts.push(record(ino, S_IFLNK | 0o777, name, Buffer.from(e.target, "utf8")));
        break;
      case "char":
        parts.push(record(ino, S_IFCHR | (e.mode ?? 0o600), name, Buffer.alloc(0), [e.major, e.minor]));
        break;
    }
  });
  parts.push(record(0, 0, "TRAILER!!!", Buffer.alloc(0)));
  return Buffer.concat(parts);
}
