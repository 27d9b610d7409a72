/**
 * pillar/lab's copy (in a lab harness's scratch directory) made a Galera cluster: three mysql
 * members, and haproxy in front of them as the sample pillar has it. The lab end to end and
 * `npm run bench -- rebuild` use it: a rolling rebuild needs a cluster to roll.
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
