/**
 * Kinetic on Pulumi: rebuild a private cloud from its pillar. `pulumi preview` shows the plan,
 * `pulumi up` provisions, `pulumi destroy` zeroizes. See README.md.
 */
import { kineticProgram } from "./components/program";
import { realProvisioners } from "./components/provisioners";

const program = kineticProgram({ provisioners: realProvisioners });

/** Per endpoint: name, type, style, UUID, controller (virtual) and management address. */
export const endpoints = program.endpoints;
