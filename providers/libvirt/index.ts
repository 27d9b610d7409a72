/** Virtual endpoints on the controllers: spec, domain XML, cloud-init seed, MACs and scripts. */
export { renderSeed } from "./cloudInit";
export type { Seed } from "./cloudInit";
export { DEFAULT_PATHS, renderDomainXml, validateSpec } from "./domainXml";
export type { DomainPaths } from "./domainXml";
export { emitDomains } from "./emitDomains";
export { isLibvirtSpecError, isMacCollisionError, LibvirtSpecError, MacCollisionError } from "./errors";
export type { LibvirtProblem } from "./errors";
export { assertUniqueMacs, deriveMac } from "./mac";
export type { MacAssignment } from "./mac";
export { createCommand, DEFAULT_SSH_TIMEOUT_SECONDS, machineStdin, machineValues, zeroizeCommand } from "./scripts";
export type { ScriptOptions } from "./scripts";
export { interfaceSlot, virtualMachineSpec } from "./spec";
export type { VirtualMachineSpec, VirtualNic } from "./spec";
