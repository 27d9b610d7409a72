import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Catalog, objectStoreApis, swiftInfoUrl, tempurlDigest, withIniOption } from "../../verify/swiftInfo";

/** An object store answering /info where radosgw does (/swift/info) and, for Swift's shape, at the root. */
function infoServer(): Promise<{ base: string; close: () => Promise<void> }> {
  const info = JSON.stringify({ swift: { version: "16.2.15" }, tempurl: { methods: ["GET"] }, slo: {}, bulk_delete: {}, container_quotas: {}, account_quotas: {}, "odd key!": {} });
  const server = http.createServer((req, res) => {
    if (req.url === "/swift/info" || req.url === "/plain/info") res.writeHead(200, { "Content-Type": "application/json" }).end(info);
    else if (req.url === "/broken/info") res.writeHead(200).end("<html>");
    else res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ base: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

const catalogAt = (url: string): Catalog[] => [
  { type: "identity", endpoints: [{ interface: "public", url: "http://127.0.0.1:5000" }] },
  { type: "object-store", endpoints: [{ interface: "internal", url: "http://elsewhere/v1" }, { interface: "public", url }] },
];

describe("kinetic verify: the object store's optional APIs for Tempest (verify/swiftInfo.ts)", () => {
  it("/info is read beside the version, wherever the prefix puts it", () => {
    assert.equal(swiftInfoUrl(catalogAt("http://10.0.0.5:8080/swift/v1/AUTH_%(project_id)s")), "http://10.0.0.5:8080/swift/info");
    assert.equal(swiftInfoUrl(catalogAt("http://10.0.0.5:8080/v1/AUTH_%(project_id)s")), "http://10.0.0.5:8080/info");
    assert.equal(swiftInfoUrl(catalogAt("http://10.0.0.5:8080/v1")), "http://10.0.0.5:8080/info");
    assert.equal(swiftInfoUrl(catalogAt("http://10.0.0.5:8080/v10/x")), undefined);
    assert.equal(swiftInfoUrl([{ type: "identity", endpoints: [] }]), undefined);
  });

  it("against a server shaped like radosgw (no /info at the root): every optional API it lists; none when it answers nothing usable", async () => {
    const s = await infoServer();
    try {
      const rgw = await objectStoreApis(catalogAt(`${s.base}/swift/v1/AUTH_%(project_id)s`));
      assert.deepEqual(rgw, { url: `${s.base}/swift/info`, apis: ["account_quotas", "bulk_delete", "container_quotas", "slo", "tempurl"], tempurlDigest: "sha1" });
      // What python-tempestconf asks: the root's /info, which this server (as radosgw) does not have.
      assert.equal((await fetch(`${s.base}/info`)).status, 404);
      assert.match(JSON.stringify(await objectStoreApis(catalogAt(`${s.base}/missing/v1/AUTH_x`))), /missing\/info answered 404/);
      assert.match(JSON.stringify(await objectStoreApis(catalogAt(`${s.base}/broken/v1/AUTH_x`))), /"why"/);
      assert.deepEqual(await objectStoreApis([]), { why: "no public object-store endpoint with a /v1 path in the catalog" });
    } finally {
      await s.close();
    }
  });

  it("the list goes into tempest.conf: replaced in its section, added to it, or a section of its own", () => {
    const conf = "[DEFAULT]\nlog_file = x\n\n[object-storage-feature-enabled]\ndiscoverable_apis = \n\n[validation]\nrun_validation = false\n";
    assert.equal(withIniOption(conf, "object-storage-feature-enabled", "discoverable_apis", "slo,tempurl"), conf.replace("discoverable_apis = \n", "discoverable_apis = slo,tempurl\n"));
    assert.equal(withIniOption("[object-storage-feature-enabled]\n[validation]\ndiscoverable_apis = keep\n", "object-storage-feature-enabled", "discoverable_apis", "slo"), "[object-storage-feature-enabled]\ndiscoverable_apis = slo\n[validation]\ndiscoverable_apis = keep\n");
    assert.equal(withIniOption("[DEFAULT]\na = b\n", "object-storage-feature-enabled", "discoverable_apis", "slo"), "[DEFAULT]\na = b\n\n[object-storage-feature-enabled]\ndiscoverable_apis = slo\n");
  });

  it("tempurl's digest: the strongest the store allows; SHA-1 when it lists none (radosgw 16)", () => {
    assert.equal(tempurlDigest({ methods: ["GET"] }), "sha1");
    assert.equal(tempurlDigest({ allowed_digests: ["sha1", "sha256", "sha512"] }), "sha256");
    assert.equal(tempurlDigest({ allowed_digests: ["sha512"] }), "sha512");
    assert.equal(tempurlDigest({ allowed_digests: "sha256" }), "sha1");
  });
});
