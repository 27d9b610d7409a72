/**
 * Errors of the libvirt provider. Like the pillar's, they collect every problem and throw once, and
 * carry a stable `code` so guards work across module copies (see STYLE.md, errors).
 */

/** One problem with a virtual machine's definition. */
export interface LibvirtProblem {
  /** Dotted path inside the spec, e.g. `networks.sbe.interface`. */
  propertyPath: string;
  reason: string;
}

export const LIBVIRT_SPEC_ERROR = "KINETIC_LIBVIRT_SPEC";
export const MAC_COLLISION_ERROR = "KINETIC_MAC_COLLISION";

/** A virtual machine that cannot be rendered: names the machine and every problem found. */
export class LibvirtSpecError extends Error {
  readonly code = LIBVIRT_SPEC_ERROR;
  constructor(
    readonly machine: string,
    readonly problems: LibvirtProblem[],
  ) {
    super(
      `virtual machine ${machine} has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${p.propertyPath}: ${p.reason}`).join("\n"),
    );
    this.name = "LibvirtSpecError";
  }
}

/** Two NICs of the stack were given the same MAC address. */
export class MacCollisionError extends Error {
  readonly code = MAC_COLLISION_ERROR;
  constructor(
    readonly mac: string,
    readonly first: { endpoint: string; network: string },
    readonly second: { endpoint: string; network: string },
  ) {
    super(
      `MAC address ${mac} is derived for both ${first.endpoint} (network ${first.network}) and ` +
        `${second.endpoint} (network ${second.network}); rename one of them or change the stack`,
    );
    this.name = "MacCollisionError";
  }
}

export function isLibvirtSpecError(e: unknown): e is LibvirtSpecError {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === LIBVIRT_SPEC_ERROR;
}

export function isMacCollisionError(e: unknown): e is MacCollisionError {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === MAC_COLLISION_ERROR;
}
