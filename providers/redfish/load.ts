/**
 * Loading provider code inside dynamic provider methods. Pulumi serializes provider objects and runs
 * them in its dynamic provider host, a separate Node process where the program's ts-node is not
 * registered and nothing of ours is imported. Each provider therefore records the absolute path of
 * `operations` when it is constructed, and its methods load it through this function at call time.
 * This function is itself serialized by value, so it may use nothing but `require`.
 */
export function loadModule<T>(file: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const req = require;
  const fs = req("node:fs") as typeof import("node:fs");
  const path = req("node:path") as typeof import("node:path");
  let target = file;
  if (!fs.existsSync(target)) {
    // The checkout moved since the resource was created, and the provider stored in state still names
    // the old path (a delete runs the old provider). Pulumi runs the provider host in the project directory.
    const moved = path.join(process.cwd(), "providers", "redfish", path.basename(file));
    if (fs.existsSync(moved)) target = moved;
  }
  if (/\.ts$/.test(target) && !(".ts" in req.extensions)) {
    // The program ran through ts-node (no build step): register it here too, from the project's own copy.
    const tsNode = req(req.resolve("ts-node", { paths: [target] })) as { register(o: object): void };
    tsNode.register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
  }
  return req(target) as T;
}
