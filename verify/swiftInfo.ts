/**
 * The object store's optional APIs, for Tempest's `[object-storage-feature-enabled]
 * discoverable_apis`. python-tempestconf asks `/info` at the root of the object-store endpoint's
 * host; Swift serves it there, but Ceph's radosgw serves the Swift API under a prefix
 * (`rgw_swift_url_prefix`, `swift` by default: `http://host:8080/swift/v1/AUTH_<project>`) and its
 * `/info` beside the version (`/swift/info`). The discovery then finds nothing and writes an empty
 * list, and Tempest skips every test of an optional API (tempurl, slo, bulk delete, the quotas:
 * 11 of the 2020.06 interop list's required tests on the lab's cloud). Swift's convention puts
 * `/info` beside `/v1` whatever the prefix, so it is read there.
 */

/** The part of a keystone v3 token response this reads. */
export interface Catalog {
  type: string;
  endpoints: { interface: string; url: string }[];
}

/** `<endpoint up to its /v1>/info` of the catalog's public object-store endpoint, if it has one. */
export function swiftInfoUrl(catalog: readonly Catalog[]): string | undefined {
  const url = catalog.find((s) => s.type === "object-store")?.endpoints.find((e) => e.interface === "public")?.url;
  if (!url) return undefined;
  const at = url.search(/\/v1(\/|$)/);
  return at < 0 ? undefined : `${url.slice(0, at)}/info`;
}

/**
 * The digest Tempest signs temporary URLs with: the strongest of what `/info` says the tempurl
 * middleware allows (`allowed_digests`, Swift 2.22 on). Without the list only SHA-1 is known to
 * work: radosgw 16 lists none and refuses Tempest's default, SHA-256, with AccessDenied.
 */
export function tempurlDigest(tempurl: unknown): string {
  const allowed = (tempurl as { allowed_digests?: unknown } | undefined)?.allowed_digests;
  const list = Array.isArray(allowed) ? allowed.filter((d): d is string => typeof d === "string") : ["sha1"];
  return ["sha256", "sha512", "sha1"].find((d) => list.includes(d)) ?? "sha1";
}

/** The optional APIs `/info` lists (its keys but `swift`, the core) and the tempurl digest, or why there are none. */
export async function objectStoreApis(catalog: readonly Catalog[], timeoutMs = 30_000): Promise<{ url: string; apis: string[]; tempurlDigest?: string } | { why: string }> {
  const url = swiftInfoUrl(catalog);
  if (!url) return { why: "no public object-store endpoint with a /v1 path in the catalog" };
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (r.status !== 200) {
      await r.arrayBuffer();
      return { why: `${url} answered ${r.status}` };
    }
    const body = (await r.json()) as unknown;
    if (!body || typeof body !== "object" || Array.isArray(body)) return { why: `${url} is not a JSON object` };
    const info = body as Record<string, unknown>;
    const apis = Object.keys(info).filter((k) => k !== "swift" && /^[A-Za-z0-9_-]+$/.test(k)).sort();
    return { url, apis, ...("tempurl" in info ? { tempurlDigest: tempurlDigest(info.tempurl) } : {}) };
  } catch (e) {
    return { why: `${url}: ${(e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (e as Error).message}` };
  }
}

/** `text` (an INI file) with `key = value` in `[section]`: replaced where it is, else added to the section, else a new section. */
export function withIniOption(text: string, section: string, key: string, value: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === `[${section}]`);
  if (start < 0) return `${text.replace(/\n*$/, "\n")}\n[${section}]\n${key} = ${value}\n`;
  let end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  if (end < 0) end = lines.length;
  const at = lines.findIndex((l, i) => i > start && i < end && new RegExp(`^\\s*${key}\\s*=`).test(l));
  if (at >= 0) lines[at] = `${key} = ${value}`;
  else lines.splice(start + 1, 0, `${key} = ${value}`);
  return lines.join("\n");
}
