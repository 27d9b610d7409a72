export * from "./model";
export * from "./errors";
export { loadCloud, Cloud, LoadOptions } from "./load";
export { buildNeedsGraph, criticalPath, needMet, NeedsGraph, stepId, waves } from "./needsGraph";
export { STEPS, Step } from "./typeGraph";
export { LOCK_FILE, writeLock } from "./addresses";
export { endpointUuid } from "./uuid";
export { SITE, STACK_NAME, partDigest, partEndpoints, pulumiStackName, stackNames, stackOfType } from "./stacks";
