import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, withHost } from "./hostSuite";

/** A loopback HTTP server standing in for the image mirrors: the test never reaches the internet. */
function imageServer(files: Map<string, Buffer>): Promise<{ url: string; gets: string[]; close: () => Promise<void> }> {
  const gets: string[] = [];
  const srv = http.createServer((req, res) => {
    const body = files.get(req.url ?? "");
    if (req.method === "GET") gets.push(req.url ?? "");
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, gets, close: () => new Promise((r) => srv.close(() => r())) }),
    ),
  );
}

describe("formulas/controller on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();
  const files = new Map<string, Buffer>();
  let server: Awaited<ReturnType<typeof imageServer>>;
  const raw = crypto.randomBytes(256 * 1024);
  let images = "";

  before(async () => {
    server = await imageServer(files);
    files.set("/images/debian-12-tiny.raw", raw);
  });
  after(async () => server && (await server.close()));

  it("install: KVM, libvirt and image tools, libvirtd enabled", async () => {
    const h = host();
    await runOk(h, "controller/install", { NAME: "controller-1" });
    assertInstalled(h, ["qemu-system-x86", "qemu-utils", "libvirt-daemon-system", "libvirt-clients", "genisoimage", "curl"]);
    assertEnabled(h, ["libvirtd.service"]);
    await assertIdempotent(h, "controller/install", { NAME: "controller-1" });
  });

  it("configure: /kvm layout and base images from the pillar, qcow2 converted to raw, unreachable URLs skipped", async () => {
    const h = host();
    // A small real qcow2 image, made with the host's own qemu-img.
    h.exec(["qemu-img", "create", "-q", "-f", "qcow2", "/root/tiny.qcow2", "2M"]);
    files.set("/images/ubuntu-22.04-tiny.qcow2", fs.readFileSync(h.path("/root/tiny.qcow2")));
    fs.rmSync(h.path("/root/tiny.qcow2"));
    images = [
      `debian12\traw\t${server.url}/images/debian-12-tiny.raw`,
      `ubuntu2204\tqcow2\t${server.url}/images/ubuntu-22.04-tiny.qcow2`,
      `gone\traw\t${server.url}/images/not-there.raw`,
    ].join("\n");
    const r = await runOk(h, "controller/configure", { IMAGES: images });
    for (const d of ["/kvm", "/kvm/images", "/kvm/vms"]) assert.ok(fs.statSync(h.path(d)).isDirectory(), d);
    assert.deepEqual(fs.readFileSync(h.path("/kvm/images/debian12-latest")), raw);
    const info = JSON.parse(h.exec(["qemu-img", "info", "--output=json", "/kvm/images/ubuntu2204-latest"])) as { format: string; "virtual-size": number };
    assert.equal(info.format, "raw");
    assert.equal(info["virtual-size"], 2 * 1024 * 1024);
    assert.equal(h.exists("/kvm/images/gone-latest"), false);
    assert.match(r.stderr, /warning: image gone: .*not-there\.raw is not reachable; not downloaded/);
    assert.ok(changes(r).some((c) => c.startsWith("/kvm/images/debian12-latest (from ")));
  });

  it("no file under /kvm is readable by a non-root user; a layout an earlier version left open is closed", async () => {
    const h = host();
    // Tried for real inside the host as user nobody (no groups): read every file, list every directory.
    const open = () =>
      h.exec(["find", "/kvm"]).split("\n").filter(Boolean).filter((p) => {
        const isDir = fs.statSync(h.path(p)).isDirectory();
        return h.tryExec(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", ...(isDir ? ["ls", p] : ["head", "-c1", p])]).code === 0;
      });
    assert.deepEqual(open(), [], "readable by nobody");
    assert.equal(h.exec(["stat", "-c", "%a", "/kvm", "/kvm/vms", "/kvm/images"]), "711\n711\n700\n");
    assert.equal(h.exec(["stat", "-c", "%a", "/kvm/images/debian12-latest"]).trim(), "600");
    // An earlier version's modes: 0755 directories, 0644 images.
    h.exec(["chmod", "0755", "/kvm", "/kvm/images", "/kvm/vms"]);
    h.exec(["chmod", "0644", "/kvm/images/debian12-latest", "/kvm/images/ubuntu2204-latest"]);
    assert.ok(open().includes("/kvm/images/debian12-latest"), "the check sees an open image");
    const r = await runOk(h, "controller/configure", { IMAGES: images });
    assert.ok(changes(r).includes("/kvm/images/debian12-latest (mode 0600)"), r.stdout);
    assert.deepEqual(open(), [], "closed by the re-run");
  });

  it("refuses to run with libvirt's dynamic ownership turned off (QEMU could not open a private disk)", async () => {
    const h = host();
    const conf = h.read("/etc/libvirt/qemu.conf");
    try {
      fs.appendFileSync(h.path("/etc/libvirt/qemu.conf"), "dynamic_ownership = 0\n");
      await assertRejects(h, "controller/configure", { IMAGES: images }, "layout", /dynamic_ownership = 0/);
    } finally {
      fs.writeFileSync(h.path("/etc/libvirt/qemu.conf"), conf);
    }
  });

  it("changes nothing on a second run and downloads nothing again", async () => {
    const before = server.gets.length;
    await assertIdempotent(host(), "controller/configure", { IMAGES: images });
    assert.equal(server.gets.length, before, `downloaded again: ${server.gets.slice(before).join(", ")}`);
  });

  it("downloads again when an image's URL changes", async () => {
    const h = host();
    const other = crypto.randomBytes(64 * 1024);
    files.set("/images/debian-12-tiny-v2.raw", other);
    const r = await runOk(h, "controller/configure", { IMAGES: images.replace("debian-12-tiny.raw", "debian-12-tiny-v2.raw") });
    assert.ok(changes(r).some((c) => c.startsWith("/kvm/images/debian12-latest (from ")), r.stdout);
    assert.deepEqual(fs.readFileSync(h.path("/kvm/images/debian12-latest")), other);
  });

  it("refuses image names, types and URLs that are not tokens, without executing them", async () => {
    const h = host();
    const line = EVIL.replace(/\n/g, " ");
    await assertRejects(h, "controller/configure", { IMAGES: `${line}\traw\t${server.url}/x` }, `image ${line}`, /KINETIC_IMAGES: image name is not/);
    await assertRejects(h, "controller/configure", { IMAGES: `ok\t${line}\t${server.url}/x` }, "image ok", /type is not raw or qcow2/);
    await assertRejects(h, "controller/configure", { IMAGES: `ok\traw\t${server.url}/${line}` }, "image ok", /URL is not http\(s\)\/ftp/);
    await assertRejects(h, "controller/configure", { IMAGES: `ok\traw\t${server.url}/a\n${EVIL}` }, "image ok", /line 2 has 1 tab-separated fields, not 3/);
  });
});
