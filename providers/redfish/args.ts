/** Resource arguments shared by the Redfish dynamic resources. */
import * as pulumi from "@pulumi/pulumi";
import type { AuthMode } from "./client";
import type { TimeoutInputs } from "./operations";

/** How to reach and log in to a BMC. */
export interface BmcConnectionArgs {
  /** BMC account name (pillar `api_user`). */
  user: pulumi.Input<string>;
  /** BMC account password (stack config `kinetic:bmcPassword`). Kept as a secret in state. */
  password: pulumi.Input<string>;
  /**
   * PEM CA bundle the BMC certificates chain to (stack config `kinetic:bmcCaBundle`). Default: Node's
   * public roots, which self-signed BMC certificates fail, loudly.
   */
  caBundle?: pulumi.Input<string>;
  /** Skip TLS verification; an explicit per-network opt-in. Default `false`. */
  insecure?: pulumi.Input<boolean>;
  /**
   * `false`: verify the certificate chain against `caBundle` but not that it names the BMC's address
   * (real BMC certificates name a host name; discovery reaches BMCs by address). Per network
   * (`kinetic:bmcCaOnlyNetworks`). Default `true`.
   */
  verifyName?: pulumi.Input<boolean>;
  /**
   * Trust on first use: discovery accepts the BMC's own (e.g. self-signed) certificate and pins its
   * SHA-256 in state; every later operation requires that certificate. Per network
   * (`kinetic:bmcTofuNetworks`). Default `false`.
   */
  trustOnFirstUse?: pulumi.Input<boolean>;
  /** `http` for virtual BMCs serving plain HTTP (`kinetic:bmcHttpNetworks`); never a default. Default `https`. */
  scheme?: pulumi.Input<"https" | "http">;
  /** Allow TLS 1.0/1.1 and legacy ciphers for old firmware. Default `false`. */
  legacyCiphers?: pulumi.Input<boolean>;
  /**
   * `auto` (default): a Redfish session (DSP0266 §13.3.4), Basic when sessions are unavailable;
   * `session` or `basic` to force one.
   */
  auth?: pulumi.Input<AuthMode>;
  /** Deadlines in ms (connect 5000, request 30000, task 600000, power 600000, power poll 5000). */
  timeouts?: pulumi.Input<TimeoutInputs>;
}

/** One server behind its BMC, as discovery found it. */
export interface SystemArgs extends BmcConnectionArgs {
  /** SMBIOS UUID from the pillar (`hosts.<type>.uuids`); checked against the BMC before every write. */
  uuid: pulumi.Input<string>;
  /** BMC address, `host` or `host:port` (`RedfishDiscovery.bmcAddress`). */
  bmcAddress: pulumi.Input<string>;
  /** ComputerSystem `@odata.id` (`RedfishDiscovery.systemUri`), never a guessed id. */
  systemUri: pulumi.Input<string>;
  /**
   * The certificate pinned by discovery (`RedfishDiscovery.certSha256`); every connection must present
   * it. Default: no pin (plain HTTP, or resources declared without discovery).
   */
  certSha256?: pulumi.Input<string>;
  /**
   * Permit zeroize on delete: power off / clear the boot override (stack config
   * `kinetic:zeroizePhysical`). Default `false`: deleting leaves the server untouched. The stack
   * config at delete time is honoured too, so a removed host can be zeroized after allowing it.
   */
  allowZeroize?: pulumi.Input<boolean>;
}
