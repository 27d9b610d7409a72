/**
 * Which other roles a role's formulas cannot work without, read from the formulas themselves so the
 * table cannot drift from them (issue 20: a pillar whose roles cannot form a cloud is a plan-time
 * problem, not a formula that waits for a database that will never come).
 *
 * Read from `formulas/<role>/{install,configure}` (the files as written, not inlined):
 * - `# kinetic-uses:` names:
 *   - `SECRET_RABBITMQ`: its transport URL, so rabbitmq;
 *   - `SECRET_KEYSTONE_ADMIN`: it registers in or talks to keystone, so keystone;
 *   - `SECRET_<X>_DB`: its database account on mysql, so mysql;
 *   - `ADDRESSES_<ROLE>` / `NAMES_<ROLE>` named one by one (not through `_*`): that role;
 *   - `SECRET_<ROLE>` of another role: the service user that role's formula registers in keystone
 *     (nova authenticates to placement and neutron with theirs), so that role;
 * - code: `os_list VAR <role>` followed by `[ "${#VAR[@]}" -gt 0 ] || die`, and `ceph_check_members`
 *   called unconditionally (it dies without monitors): that role.
 * - `EXTRA` below: what no line of a formula shows, each with its reason.
 * A role without formula files requires nothing here (the plan reports the missing files).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FORMULAS_DIR } from "./load";

export interface RoleRequirement {
  /** The role that needs another. */
  role: string;
  /** The role it cannot work without. */
  needs: string;
  /** Why, naming the formula file and what in it, for the operator's message. */
  because: string;
}

/**
 * What the formulas' code cannot show as a stop, each held only while the formula still has the line
 * that makes it so (`evidence`, matched against its configure), so it goes away with that line:
 * - neutron falls back to its own address when no ovsdb type exists (`ovsdb=("$OS_ADDRESS")`), where
 *   no OVN database runs: the ML2 driver then waits for it at every start;
 * - volume's only backend is Ceph RBD (`enabled_backends = rbd`), whatever monitors it finds;
 * - cinder is the API and scheduler only: without a volume type no volume is ever made.
 */
const EXTRA: readonly (RoleRequirement & { evidence: RegExp })[] = [
  {
    role: "neutron", needs: "ovsdb", evidence: /\|\|\s*ovsdb=\("\$OS_ADDRESS"\)/,
    because: "formulas/neutron/configure points the OVN northbound and southbound connections at the ovsdb endpoints, or without one at its own address, where no OVN database runs",
  },
  { role: "volume", needs: "cephmon", evidence: /'enabled_backends = rbd'/, because: "formulas/volume/configure makes Ceph RBD, enabled_backends = rbd, cinder-volume's only backend" },
  {
    role: "cinder", needs: "volume", evidence: /os_restart_if_changed .*cinder-scheduler\.service/,
    because: "formulas/cinder/configure runs the block storage API and scheduler only; cinder-volume runs on the volume role",
  },
];

const PHASE_FILES = ["install", "configure"] as const;

/** Roles that have a formula directory (`formulas/<role>/`), excluding `common` and `lib`. */
export function formulaRoles(dir: string = FORMULAS_DIR): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "common" && e.name !== "lib" && PHASE_FILES.some((p) => fs.existsSync(path.join(dir, e.name, p))))
    .map((e) => e.name)
    .sort();
}

const cache = new Map<string, RoleRequirement[]>();

/** Every requirement of every role with formulas in `dir` (cached per directory). */
export function roleRequirements(dir: string = FORMULAS_DIR): RoleRequirement[] {
  const hit = cache.get(dir);
  if (hit) return hit;
  const roles = formulaRoles(dir);
  const known = new Set(roles);
  const out: RoleRequirement[] = [];
  const add = (role: string, needs: string, because: string) => {
    if (needs === role || !known.has(needs) || out.some((r) => r.role === role && r.needs === needs)) return;
    out.push({ role, needs, because });
  };
  for (const role of roles) {
    for (const phase of PHASE_FILES) {
      const file = path.join(dir, role, phase);
      if (!fs.existsSync(file)) continue;
      const label = `formulas/${role}/${phase}`;
      const text = fs.readFileSync(file, "utf8");
      const uses = text
        .split("\n")
        .map((l) => /^#\s*kinetic-uses:(.*)$/.exec(l)?.[1] ?? "")
        .join(" ")
        .split(/\s+/)
        .filter(Boolean);
      for (const u of uses) {
        if (u === "SECRET_RABBITMQ") add(role, "rabbitmq", `${label} reads SECRET_RABBITMQ, its RabbitMQ transport URL`);
        else if (u === "SECRET_KEYSTONE_ADMIN") add(role, "keystone", `${label} reads SECRET_KEYSTONE_ADMIN: it registers in keystone`);
        else if (/^SECRET_[A-Z0-9]+_DB$/.test(u) && role !== "mysql") add(role, "mysql", `${label} reads ${u}, its database account on mysql`);
        else if (/^(ADDRESSES|NAMES)_[A-Z0-9_]+$/.test(u)) add(role, u.replace(/^(ADDRESSES|NAMES)_/, "").toLowerCase(), `${label} reads ${u}`);
        else if (/^SECRET_[A-Z0-9]+$/.test(u) && known.has(u.slice(7).toLowerCase())) {
          const other = u.slice(7).toLowerCase();
          add(role, other, `${label} reads ${u}, the ${other} service user that formulas/${other}/configure registers in keystone`);
        }
      }
      const lines = text.split("\n");
      lines.forEach((line, i) => {
        const m = /^\s*os_list\s+(\w+)\s+([a-z][a-z0-9_-]*)\s*$/.exec(line);
        if (m && new RegExp(`\\$\\{#${m[1]}\\[@\\]\\}.*\\|\\|\\s*die\\b`).test(lines[i + 1] ?? "")) {
          add(role, m[2], `${label}:${i + 2} stops without ${m[2]} endpoints`);
        }
        if (/^ceph_check_members\b/.test(line)) add(role, "cephmon", `${label}:${i + 1} needs the Ceph monitors: ceph_check_members`);
      });
    }
  }
  for (const e of EXTRA) {
    const file = path.join(dir, e.role, "configure");
    if (fs.existsSync(file) && e.evidence.test(fs.readFileSync(file, "utf8"))) add(e.role, e.needs, e.because);
  }
  cache.set(dir, out);
  return out;
}
