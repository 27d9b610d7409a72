/**
 * A reader of subunit v2, the binary stream `tempest run --subunit` (stestr) writes: one result per
 * test with its status, duration and attachments (the traceback of a failure, the reason of a skip).
 * Our own because subunit2csv and subunit2junitxml (python3-subunit) raise a Python traceback on a
 * failure without details and need python3-junitxml besides; a report must not depend on either.
 *
 * Format (the subunit README, "Version 2"; subunit/v2.py of python3-subunit reads the same): each
 * packet is the signature byte 0xB3, 16 bits of flags (version 2 in the top nibble, the test status
 * in the low 3 bits), the packet's whole length as a variable-length number, then present-if-flagged
 * timestamp, test id, tags, MIME type, file content, route code, and a CRC-32 of everything before it.
 */
import { crc32 } from "node:zlib";

const SIGNATURE = 0xb3;
const FLAG_TEST_ID = 0x0800;
const FLAG_ROUTE_CODE = 0x0400;
const FLAG_TIMESTAMP = 0x0200;
const FLAG_TAGS = 0x0080;
const FLAG_FILE_CONTENT = 0x0040;
const FLAG_MIME_TYPE = 0x0020;

/** The low 3 bits of the flags. */
const STATUSES = ["undefined", "exists", "inprogress", "success", "uxsuccess", "skip", "fail", "xfail"] as const;
export type SubunitStatus = (typeof STATUSES)[number];

/** What a test ended as, for the report: xfail counts as passed, uxsuccess as failed (as stestr does). */
export type Outcome = "passed" | "failed" | "skipped";

export interface TestResult {
  id: string;
  status: SubunitStatus;
  outcome: Outcome;
  tags: string[];
  /** Seconds between its first and last timestamped packet, when both were recorded. */
  seconds?: number;
  /** Attachments by file name (`traceback`, `reason`, `pythonlogging:''`, ...), UTF-8. */
  details: Record<string, string>;
}

interface Packet {
  status: SubunitStatus;
  testId?: string;
  tags?: string[];
  time?: number;
  fileName?: string;
  content?: Buffer;
}

/** A variable-length number at `pos`: the top 2 bits of the first byte say 1, 2, 3 or 4 bytes. */
function varint(b: Buffer, pos: number): [number, number] {
  const first = b[pos];
  const size = (first >> 6) + 1;
  let value = first & 0x3f;
  for (let i = 1; i < size; i++) value = value * 256 + b[pos + i];
  return [value, size];
}

function utf8(b: Buffer, pos: number): [string, number] {
  const [len, n] = varint(b, pos);
  return [b.toString("utf8", pos + n, pos + n + len), pos + n + len];
}

/** The packets of a stream, in order; bytes that are not a valid packet are passed over (stestr interleaves none, but a crashed worker may cut one short). */
export function parsePackets(stream: Buffer): Packet[] {
  const packets: Packet[] = [];
  let pos = 0;
  while (pos < stream.length) {
    if (stream[pos] !== SIGNATURE || pos + 4 > stream.length) {
      pos++;
      continue;
    }
    const flags = stream.readUInt16BE(pos + 1);
    const [length] = varint(stream, pos + 3);
    const end = pos + length;
    if (flags >> 12 !== 2 || length < 8 || end > stream.length || crc32(stream.subarray(pos, end - 4)) >>> 0 !== stream.readUInt32BE(end - 4)) {
      pos++;
      continue;
    }
    let p = pos + 3 + varint(stream, pos + 3)[1];
    const packet: Packet = { status: STATUSES[flags & 0x7] };
    if (flags & FLAG_TIMESTAMP) {
      const seconds = stream.readUInt32BE(p);
      const [nanos, n] = varint(stream, p + 4);
      packet.time = seconds + nanos / 1e9;
      p += 4 + n;
    }
    if (flags & FLAG_TEST_ID) [packet.testId, p] = utf8(stream, p);
    if (flags & FLAG_TAGS) {
      const [count, n] = varint(stream, p);
      p += n;
      packet.tags = [];
      for (let i = 0; i < count; i++) {
        let tag: string;
        [tag, p] = utf8(stream, p);
        packet.tags.push(tag);
      }
    }
    if (flags & FLAG_MIME_TYPE) p = utf8(stream, p)[1];
    if (flags & FLAG_FILE_CONTENT) {
      [packet.fileName, p] = utf8(stream, p);
      const [len, n] = varint(stream, p);
      packet.content = stream.subarray(p + n, p + n + len);
      p += n + len;
    }
    if (flags & FLAG_ROUTE_CODE) p = utf8(stream, p)[1];
    packets.push(packet);
    pos = end;
  }
  return packets;
}

const FINAL: ReadonlySet<SubunitStatus> = new Set(["success", "uxsuccess", "skip", "fail", "xfail"]);

export function outcomeOf(status: SubunitStatus): Outcome {
  if (status === "success" || status === "xfail") return "passed";
  if (status === "skip") return "skipped";
  return "failed";
}

/**
 * One result per test that reached a final status, in the order they finished. A test that only
 * ever reported `inprogress` (its worker died) is a failure: it did not pass.
 */
export function testResults(stream: Buffer): TestResult[] {
  const byId = new Map<string, TestResult & { start?: number; started: boolean; done: boolean }>();
  const order: string[] = [];
  for (const p of parsePackets(stream)) {
    if (!p.testId) continue;
    let r = byId.get(p.testId);
    if (!r) {
      r = { id: p.testId, status: "inprogress", outcome: "failed", tags: [], details: {}, started: false, done: false };
      byId.set(p.testId, r);
    }
    if (p.status === "inprogress") r.started = true;
    if (p.tags) r.tags = [...new Set([...r.tags, ...p.tags])];
    if (p.time !== undefined) {
      r.start ??= p.time;
      r.seconds = p.time - r.start;
    }
    if (p.fileName && p.content) r.details[p.fileName] = (r.details[p.fileName] ?? "") + p.content.toString("utf8");
    if (FINAL.has(p.status)) {
      r.status = p.status;
      r.outcome = outcomeOf(p.status);
      if (!r.done) order.push(p.testId);
      r.done = true;
    }
  }
  for (const [id, r] of byId) {
    // `exists` alone is a listing, not a run; `inprogress` without an end is a test cut short.
    if (!r.done && r.started) {
      r.details.reason ??= "the test started but never reported an end (its worker stopped)";
      order.push(id);
    }
  }
  return order.map((id) => {
    const { start: _start, started: _started, done: _done, ...result } = byId.get(id)!;
    return result;
  });
}
