/**
 * The SDK attaches a captured stack trace to each of the many promises it makes per resource (leak
 * diagnostics only), and `pulumi` formats every one through source maps: at a thousand endpoints
 * that was two thirds of the time to declare the program (`npm run bench -- plan`). So stack
 * capture is switched off from declaration until the SDK has registered every declared resource,
 * then restored. Resource source positions are unaffected: the SDK lifts the limit for those.
 */
import * as pulumi from "@pulumi/pulumi";

export function withShortStacks<T>(declare: () => T, resourcesOf: (declared: T) => pulumi.Resource[]): T {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let declared: T;
  try {
    declared = declare();
  } catch (e) {
    Error.stackTraceLimit = saved;
    throw e;
  }
  pulumi.all(resourcesOf(declared).map((r) => r.urn)).apply(() => {
    Error.stackTraceLimit = saved;
  });
  return declared;
}
