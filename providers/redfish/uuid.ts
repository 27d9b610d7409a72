/**
 * SMBIOS UUID comparison. Firmware disagrees on the byte order of the first three groups (SMBIOS 2.6
 * made them little-endian; older firmware and some BMCs print them big-endian), so a pillar UUID is
 * matched as written and with those groups byte-swapped, case-insensitively.
 * See DMTF DSP0134 §7.2.1 (https://www.dmtf.org/dsp/DSP0134).
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lower case, surrounding braces and blanks removed; `undefined` if it is not a UUID at all. */
export function normalizeUuid(uuid: string): string | undefined {
  const u = uuid.trim().replace(/^\{|\}$/g, "").toLowerCase();
  return UUID_RE.test(u) ? u : undefined;
}

function swapGroup(hex: string): string {
  return hex.match(/../g)!.reverse().join("");
}

/** The same UUID with the first three groups byte-swapped (an involution). */
export function byteSwappedUuid(uuid: string): string {
  const n = normalizeUuid(uuid);
  if (!n) return uuid;
  const [a, b, c, d, e] = n.split("-");
  return [swapGroup(a), swapGroup(b), swapGroup(c), d, e].join("-");
}

/** Both spellings a firmware may report for this UUID. */
export function uuidForms(uuid: string): string[] {
  const n = normalizeUuid(uuid);
  if (!n) return [uuid.trim().toLowerCase()];
  const s = byteSwappedUuid(n);
  return s === n ? [n] : [n, s];
}

export function sameUuid(a: string, b: string): boolean {
  const na = normalizeUuid(a);
  const nb = normalizeUuid(b);
  if (!na || !nb) return false;
  return na === nb || na === byteSwappedUuid(nb);
}

/** All-zero (and all-F) UUIDs: placeholders of boards whose SMBIOS was never programmed. */
export function isPlaceholderUuid(uuid: string): boolean {
  const n = normalizeUuid(uuid);
  return n === undefined || /^[0-]+$/.test(n) || /^[f-]+$/.test(n);
}
