/**
 * pillar/lab's copy (in a lab harness's scratch directory) made a Galera cluster: three mysql
 * members, and haproxy in front of them as the sample pillar has it; and the digest that says whether
 * its data came through. The lab end to end and `npm run bench -- rebuild` use both: a rolling
 * rebuild needs a cluster to roll.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function makeGaleraPillar(pillarDir: string): void {
  const hosts = path.join(pillarDir, "hosts.yaml");
  const text = fs.readFileSync(hosts, "utf8");
  const memcached = /  memcached:\n[\s\S]*?(?=\n  keystone:)/.exec(text);
  if (!memcached || !/(  mysql:\n    style: virtual\n    count: )1/.test(text)) throw new Error(`${hosts} is not pillar/lab's shape (mysql count 1, memcached before keystone)`);
  const haproxy = memcached[0].replace("memcached:", "haproxy:");
  fs.writeFileSync(hosts, text.replace(/(  mysql:\n    style: virtual\n    count: )1/, "$13").replace("\n  keystone:", `\n${haproxy}\n  keystone:`));
}

/** Every table of every database but the server's own, on one member: name, rows, checksum. */
export const TABLE_DIGEST = [
  `mysql -N -B -e "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1" |`,
  `while read -r t; do printf '%s %s %s\\n' "$t" "$(mysql -N -B -e "SELECT COUNT(*) FROM $t")" "$(mysql -N -B -e "CHECKSUM TABLE $t" | cut -f2)"; done`,
].join(" ");
