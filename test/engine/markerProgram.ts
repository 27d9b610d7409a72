/**
 * A small program for the backend tests: named component resources (no provider, so an up takes
 * seconds), a pause after one of them (a run that stays in flight while a test acts on it), and
 * outputs that are secret (from a secret config value and from pulumi.secret) beside a plain one
 * that a search of the stored state must find.
 */
import * as pulumi from "@pulumi/pulumi";
import { PulumiFn } from "@pulumi/pulumi/automation";

export const PLAIN_MARKER = "plain-marker-visible-in-state";
export const SECRET_LITERAL = "secret-literal-Zq81-TEST";
/** The stack config key whose value is secret. */
export const TOKEN_KEY = "kinetic:backendTestToken";

export interface MarkerOptions {
  names: string[];
  /** Pause this long after declaring names[pauseAfter] (the run holds the stack meanwhile). */
  pauseAfter?: number;
  pauseMs?: number;
}

class Marker extends pulumi.ComponentResource {
  constructor(name: string) {
    super("kinetictest:index:Marker", name, {}, {});
    this.registerOutputs({ name });
  }
}

export function markerProgram(opts: MarkerOptions): PulumiFn {
  return async () => {
    for (const [i, name] of opts.names.entries()) {
      new Marker(name);
      if (i === opts.pauseAfter && opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
    const token = new pulumi.Config("kinetic").requireSecret("backendTestToken");
    return { plain: PLAIN_MARKER, token, literal: pulumi.secret(SECRET_LITERAL), names: opts.names };
  };
}
