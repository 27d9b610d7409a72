import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { declaredUses, selectValues } from "../../formulas/envelope";
import { FORMULAS_DIR, listFormulas, loadFormula } from "../../formulas/load";
import { requirePrerequisite } from "../support/prerequisite";
import { BACKUP_RECIPES } from "../../cli/backupRecipes";

const ROLES = ["pxe", "controller", "cache", "mysql", "rabbitmq", "memcached", "haproxy", "keystone", "cephmon", "storage", "mds", "swift", "bind", "etcd", "container", "guacamole", "opensearch",
  // OpenStack services (issue 12)
  "glance", "placement", "nova", "compute", "neutron", "network", "ovsdb", "horizon", "heat", "cinder", "volume",
  "barbican", "designate", "magnum", "manila", "share", "sahara", "zun"];
const hasShellcheck = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;

describe("formulas: static checks", () => {
  it("has base, networking and an install + configure pair for every role", () => {
    const all = listFormulas();
    for (const f of ["common/base", "common/networking", ...ROLES.flatMap((r) => [`${r}/install`, `${r}/configure`])]) assert.ok(all.includes(f), `missing formulas/${f}`);
  });

  for (const label of listFormulas()) {
    describe(label, () => {
      const { text } = loadFormula(label);

      it("passes shellcheck -x with its includes inlined", function () {
        requirePrerequisite(this, !hasShellcheck && "no shellcheck", "shellcheck");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-sc-"));
        const file = path.join(dir, label.replace("/", "_"));
        fs.writeFileSync(file, text);
        const r = spawnSync("shellcheck", ["-x", "-s", "bash", file], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(r.status, 0, r.stdout + r.stderr);
      });

      it("is strict, reports its steps, ends with finish and names what it reads", () => {
        const source = fs.readFileSync(path.join(FORMULAS_DIR, label), "utf8");
        assert.match(source, /^#!\/usr\/bin\/env bash\n/);
        assert.match(source, /^# kinetic-include: lib\/kinetic\.sh$/m);
        assert.match(text, /^set -Eeuo pipefail$/m);
        assert.match(text, /^trap 'kinetic_on_error .*' ERR$/m);
        assert.match(source, /^step "/m);
        assert.match(source, /\nfinish\n$/);
        assert.ok(declaredUses(text).length > 0, "no kinetic-uses line");
        // Every KINETIC_<NAME> the script reads is declared (directly or by a PREFIX_* entry).
        const uses = declaredUses(text);
        const read = new Set([...source.matchAll(/KINETIC_([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
        for (const name of read) {
          if (["FORMULA", "STEP", "CHANGES", "APT_OPTS", "DERIVE_SECRET"].includes(name)) continue;
          if (/_$/.test(name)) continue; // an indirect name being built: KINETIC_NET_${...}
          assert.ok(uses.some((u) => u === name || (u.endsWith("_*") && name.startsWith(u.slice(0, -1)))), `${label} reads KINETIC_${name} without declaring it`);
        }
      });

      it("never uses eval, source or an unquoted heredoc", () => {
        const source = fs.readFileSync(path.join(FORMULAS_DIR, label), "utf8");
        assert.doesNotMatch(source, /(^|[;&|\s])(eval|source)\s/m);
        assert.doesNotMatch(source, /^\s*\.\s+\S/m);
        // Heredocs (not here-strings `<<<`) must have a quoted delimiter: no expansion in their body.
        for (const m of source.matchAll(/(?<!<)<<-?(?!<)\s*(\S+)/g)) {
          assert.match(m[1], /^'.*'$/, `${label}: heredoc delimiter ${m[1]} is not quoted`);
        }
      });
    });
  }

  it("lib/kinetic.sh passes shellcheck", function () {
    requirePrerequisite(this, !hasShellcheck && "no shellcheck", "shellcheck");
    const r = spawnSync("shellcheck", ["-s", "bash", path.join(FORMULAS_DIR, "lib/kinetic.sh")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it("lib/openstack.sh passes shellcheck", function () {
    requirePrerequisite(this, !hasShellcheck && "no shellcheck", "shellcheck");
    const r = spawnSync("shellcheck", ["-s", "bash", path.join(FORMULAS_DIR, "lib/openstack.sh")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  for (const r of BACKUP_RECIPES) {
    const scripts: Record<string, string> = r.restoreOn === "every member" ? { dump: r.dump, stage: r.stage, discard: r.discard, swap: r.swap, settle: r.settle } : { dump: r.dump, restore: r.restore };
    it(`backup recipe ${r.part} (cli/backupRecipes.ts): each script passes shellcheck and reads only the values it is sent`, function () {
      requirePrerequisite(this, !hasShellcheck && "no shellcheck", "shellcheck");
      const sent = r.restoreOn === "every member" ? [...r.uses, "RESTORE_TOKEN"] : [];
      for (const [name, text] of Object.entries(scripts)) {
        const r2 = spawnSync("shellcheck", ["-s", "bash", "-"], { input: text, encoding: "utf8" });
        assert.equal(r2.status, 0, `${r.part} ${name}: ${r2.stdout}${r2.stderr}`);
        for (const m of text.matchAll(/KINETIC_([A-Z][A-Z0-9_]*)/g)) assert.ok(sent.includes(m[1]), `${r.part} ${name} reads KINETIC_${m[1]}, which it is not sent`);
      }
    });
  }
});

describe("formulas/load.ts", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const scratch = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-load-"));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, "lib"));
    fs.mkdirSync(path.join(dir, "demo"));
    return dir;
  };

  it("inlines `# kinetic-include: lib/x.sh` lines and keeps everything else", () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, "lib/x.sh"), "helper() { :; }\n");
    fs.writeFileSync(path.join(dir, "demo/install"), "#!/usr/bin/env bash\n# kinetic-uses: NAME\n# kinetic-include: lib/x.sh\nhelper\n");
    const f = loadFormula("demo/install", dir);
    assert.equal(f.label, "demo/install");
    assert.equal(f.text, "#!/usr/bin/env bash\n# kinetic-uses: NAME\n# >>> lib/x.sh (inlined by formulas/load.ts)\nhelper() { :; }\n# <<< lib/x.sh\nhelper\n");
  });

  it("refuses includes outside lib/, missing files and nested includes", () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, "demo/a"), "# kinetic-include: ../etc/passwd\n");
    assert.throws(() => loadFormula("demo/a", dir), /must name lib\/<file>\.sh/);
    fs.writeFileSync(path.join(dir, "demo/b"), "# kinetic-include: lib/none.sh\n");
    assert.throws(() => loadFormula("demo/b", dir), /demo\/b:1: kinetic-include lib\/none\.sh/);
    fs.writeFileSync(path.join(dir, "lib/n.sh"), "# kinetic-include: lib/x.sh\n");
    fs.writeFileSync(path.join(dir, "demo/c"), "# kinetic-include: lib/n.sh\n");
    assert.throws(() => loadFormula("demo/c", dir), /may not include/);
  });

  it("keeps the kinetic-uses header visible to the program after inlining", () => {
    const f = loadFormula("common/networking");
    assert.deepEqual(declaredUses(f.text), ["NETWORKS", "NET_*", "GATEWAY", "NAMESERVERS", "DOMAIN"]);
    const picked = selectValues(f.label, f.text, { NETWORKS: "management", NET_MANAGEMENT_INTERFACES: "ens3", GATEWAY: "", NAMESERVERS: "", DOMAIN: "", NAME: "x" });
    assert.deepEqual(Object.keys(picked).sort(), ["DOMAIN", "GATEWAY", "NAMESERVERS", "NETWORKS", "NET_MANAGEMENT_INTERFACES"]);
  });
});

describe("formulas/lib/kinetic.sh helpers (run locally with bash)", () => {
  const lib = fs.readFileSync(path.join(FORMULAS_DIR, "lib/kinetic.sh"), "utf8");
  const bash = (body: string, env: Record<string, string> = {}) =>
    spawnSync("bash", ["-c", `${lib}\n${body}`], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", KINETIC_FORMULA: "demo/configure", ...env } });

  it("put_file reports a change only when content, mode or owner differ", () => {
    if (process.getuid?.() !== 0) return; // chown needs root
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-put-"));
    const f = path.join(dir, "sub/file");
    const write = (mode: string) => bash(`put_file "$F" ${mode} root:root < <(printf 'a\\n'); finish`, { F: f });
    let r = write("0644");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`changed: ${f}\\n`));
    r = write("0644");
    assert.doesNotMatch(r.stdout, /changed:/);
    assert.match(r.stdout, /kinetic: demo\/configure: nothing changed/);
    r = write("0600");
    assert.match(r.stdout, new RegExp(`changed: ${f}\\n`));
    assert.equal((fs.statSync(f).mode & 0o777).toString(8), "600");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a failing command exits non-zero naming the formula and the step", () => {
    const r = bash(`step "first"\ntrue\nstep "second one"\nfalse\necho unreachable`);
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stdout, /unreachable/);
    assert.match(r.stderr, /^kinetic: demo\/configure: step "second one" failed \(exit 1 at line \d+: false\)$/m);
  });

  it("a failure inside a function or a command substitution is caught too", () => {
    const r = bash(`step "inner"\nf() { false; echo after; }\nx=$(f)\necho "got $x"`);
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /got|after/);
    assert.match(r.stderr, /step "inner" failed/);
  });

  it("words, json_str, sql_str and url_encode never execute their input", () => {
    const evil = "a $(touch /tmp/pwned-lib) `touch /tmp/pwned-lib` 'q' \"d\"\nb\\c\t";
    const r = bash(`words "$V" | paste -sd'|'; json_str "$V"; echo; sql_str "$V"; echo; url_encode "$V"; echo`, { V: evil });
    assert.equal(r.status, 0, r.stderr);
    const [w, j, s, u] = r.stdout.split("\n");
    assert.equal(w, "a|$(touch|/tmp/pwned-lib)|`touch|/tmp/pwned-lib`|'q'|\"d\"|b\\c");
    assert.equal(JSON.parse(j), evil);
    assert.equal(s, `'a $(touch /tmp/pwned-lib) \`touch /tmp/pwned-lib\` \\'q\\' "d"\\nb\\\\c\t'`);
    assert.equal(decodeURIComponent(u), evil);
    assert.equal(fs.existsSync("/tmp/pwned-lib"), false);
  });

  it("validators accept good tokens and refuse the rest", () => {
    const r = bash(
      `for v in 10.0.0.1 256.1.1.1 '1.2.3.4 ' ; do is_ipv4 "$v" && echo "ip:$v:y" || echo "ip:$v:n"; done
       for v in 10.0.0.0/24 10.0.0.0/33; do is_cidr4 "$v" && echo "c:$v:y" || echo "c:$v:n"; done
       for v in a-b.example.test '-x' 'a b' 'a;b'; do is_hostname "$v" && echo "h:$v:y" || echo "h:$v:n"; done
       for v in ens3 'e n' verylonginterfacename; do is_ifname "$v" && echo "i:$v:y" || echo "i:$v:n"; done`,
    );
    assert.equal(
      r.stdout,
      "ip:10.0.0.1:y\nip:256.1.1.1:n\nip:1.2.3.4 :n\nc:10.0.0.0/24:y\nc:10.0.0.0/33:n\nh:a-b.example.test:y\nh:-x:n\nh:a b:n\nh:a;b:n\ni:ens3:y\ni:e n:n\ni:verylonginterfacename:n\n",
    );
  });
});
