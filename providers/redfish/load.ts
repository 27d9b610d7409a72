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
  if (/\.ts$/.test(file) && !(".ts" in req.extensions)) {
    // The program ran through ts-node (no build step): register it here too, from the project's own copy.
    const tsNode = req(req.resolve("ts-node", { paths: [file] })) as { register(o: object): void };
    tsNode.register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
  }
  return req(file) as T;
}
