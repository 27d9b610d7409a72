/**
 * What `kinetic verify` shows and keeps of a Tempest run: a table per service (passed, failed,
 * skipped), the plain closing line `N passed, N failed, N skipped` (CI and people read the same),
 * and a JUnit XML report for CI systems that render it.
 */
import { Outcome, TestResult } from "./subunit";

/** Tempest's API test packages, named as an operator knows the services. */
const SERVICES: Record<string, string> = {
  identity: "identity (keystone)",
  image: "image (glance)",
  network: "network (neutron)",
  compute: "compute (nova)",
  volume: "block storage (cinder)",
  object_storage: "object storage (swift)",
};

/**
 * The service a test belongs to: `tempest.api.<service>.…`, `tempest.scenario.…` as "scenario",
 * a class fixture's failure (`setUpClass (tempest.api.compute.…)`) as the class's service.
 */
export function serviceOf(testId: string): string {
  const id = testId.replace(/^\w+ \((.*)\)$/, "$1");
  const m = /^tempest\.api\.(\w+)\./.exec(id);
  if (m) return SERVICES[m[1]] ?? m[1];
  if (id.startsWith("tempest.scenario.")) return "scenario";
  return id.split(".").slice(0, 2).join(".") || "other";
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countsOf(results: TestResult[]): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) c[r.outcome] += 1;
  return c;
}

/** `N passed, N failed, N skipped`: the last line verify prints. */
export function summaryLine(c: Counts): string {
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

/** The table: one row per service (sorted), a total row; the failed tests listed under it. */
export function renderTable(results: TestResult[]): string {
  const by = new Map<string, TestResult[]>();
  for (const r of results) by.set(serviceOf(r.id), [...(by.get(serviceOf(r.id)) ?? []), r]);
  const rows = [["SERVICE", "PASSED", "FAILED", "SKIPPED"]];
  for (const service of [...by.keys()].sort()) {
    const c = countsOf(by.get(service)!);
    rows.push([service, String(c.passed), String(c.failed), String(c.skipped)]);
  }
  const t = countsOf(results);
  rows.push(["total", String(t.passed), String(t.failed), String(t.skipped)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
  const failed = results.filter((r) => r.outcome === "failed");
  const failures = failed.length ? `\nfailed:\n${failed.map((r) => `  ${r.id}${firstLine(r) ? `: ${firstLine(r)}` : ""}`).join("\n")}\n` : "";
  return `${lines.join("\n")}\n${failures}`;
}

/** The last line of a failure's traceback (the exception), or a skip's reason. */
function firstLine(r: TestResult): string {
  const text = r.details.traceback ?? r.details.reason ?? "";
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? "").slice(0, 200);
}

const xml = (s: string) =>
  s
    // Characters XML 1.0 cannot carry at all (a traceback may hold terminal escapes).
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "?")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

const TAG: Record<Exclude<Outcome, "passed">, string> = { failed: "failure", skipped: "skipped" };

/**
 * JUnit XML (the schema Jenkins and GitLab read): one testsuite per service, a testcase per test
 * with classname = the test's class and name = the method (attributes as `[id-…,smoke]` kept).
 */
export function junitXml(results: TestResult[], suiteName: string): string {
  const by = new Map<string, TestResult[]>();
  for (const r of results) by.set(serviceOf(r.id), [...(by.get(serviceOf(r.id)) ?? []), r]);
  const t = countsOf(results);
  const total = results.reduce((s, r) => s + (r.seconds ?? 0), 0);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="${xml(suiteName)}" tests="${results.length}" failures="${t.failed}" skipped="${t.skipped}" errors="0" time="${total.toFixed(3)}">`];
  for (const service of [...by.keys()].sort()) {
    const list = by.get(service)!;
    const c = countsOf(list);
    const time = list.reduce((s, r) => s + (r.seconds ?? 0), 0);
    out.push(`  <testsuite name="${xml(service)}" tests="${list.length}" failures="${c.failed}" skipped="${c.skipped}" errors="0" time="${time.toFixed(3)}">`);
    for (const r of list) {
      const bare = r.id.replace(/\[.*\]$/, "");
      const dot = bare.lastIndexOf(".");
      const classname = dot > 0 ? bare.slice(0, dot) : bare;
      const name = dot > 0 ? r.id.slice(dot + 1) : r.id;
      const open = `    <testcase classname="${xml(classname)}" name="${xml(name)}" time="${(r.seconds ?? 0).toFixed(3)}"`;
      if (r.outcome === "passed") {
        out.push(`${open}/>`);
        continue;
      }
      const detail = r.outcome === "failed" ? (r.details.traceback ?? r.details.reason ?? "") : (r.details.reason ?? "");
      out.push(`${open}>`, `      <${TAG[r.outcome]} message="${xml(firstLine(r))}">${xml(detail)}</${TAG[r.outcome]}>`, `    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`, "");
  return out.join("\n");
}
