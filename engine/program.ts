/**
 * The Kinetic program as the engine runs it inline: the same declaration as index.ts.
 */
import { PulumiFn } from "@pulumi/pulumi/automation";
import { kineticStackProgram } from "../components/program";
import { realProvisioners } from "../components/provisioners";

export const kineticInline: PulumiFn = async () => {
  const program = await kineticStackProgram({ provisioners: realProvisioners });
  return { ...program };
};
