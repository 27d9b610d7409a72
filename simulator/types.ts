/** Public types of the Redfish BMC simulator (see index.ts for how to start it). */

export type VendorProfile = "generic" | "dell" | "hpe" | "supermicro" | "openbmc" | "ami" | "lenovo" | "bladed" | "sushyLibvirt";

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff";

/** What happened to a system's power: a boot (with the override target in force) or power off. */
export type PowerEvent = { kind: "boot"; uuid: string; target: string; resetType: string } | { kind: "off"; uuid: string };

export interface BmcSpec {
  /** A loopback address, 127.x.y.z; the BMC listens on exactly this address. */
  address: string;
  /** Default 443. */
  port?: number;
  /**
   * "http": a plain-HTTP service (OpenStack's sushy-emulator, VirtualBMC-style virtual BMCs), no TLS.
   * Default "https".
   */
  scheme?: "https" | "http";
  /**
   * ServiceRoot `UUID` (the BMC's own identity). Two specs with the same serviceUuid and the same
   * system UUIDs model one BMC reachable on two addresses. Default: derived from the address.
   */
  serviceUuid?: string;
  /**
   * Ethernet interfaces of every system (`<system>/EthernetInterfaces`), `Id` and MAC. Default: two
   * NICs with MACs derived from address and system index.
   */
  nics?: { id: string; mac: string }[];
  /** Default "generic". */
  profile?: VendorProfile;
  /**
   * SMBIOS UUIDs, one per ComputerSystem, reported exactly as given. The number
   * of systems is uuids.length (bladed default: 4, others: 1). Default:
   * `defaultUuid(address, index)`.
   */
  uuids?: string[];
  /** Default "admin". */
  user?: string;
  /** Default "password". */
  password?: string;
  /** Added before every response: a fixed delay or a uniform random one in [min, max]. */
  latencyMs?: number | [number, number];
  /** How long PowerState takes to move after a reset; default 200. */
  powerDelayMs?: number;
  /** Idle seconds after which a session ends (SessionService.SessionTimeout); default 1800. */
  sessionTimeoutS?: number;
  /** Called on every boot and power-off of a system of this BMC (the lab installs and stops servers). */
  onPower?: (event: PowerEvent) => void;
  /** Initial PowerState of every system; default "On". */
  initialPowerState?: "On" | "Off";
  faults?: {
    /** POST to Sessions answers 503 (Retry-After: 1) the first N times (number) or always (true). */
    sessionExhaustion?: boolean | number;
    /** URI paths (no trailing slash needed) that answer 500 with a Redfish error body, any method. */
    error500?: string[];
    /** Accept TCP, never answer anything (no TLS handshake either). */
    hang?: boolean;
    /**
     * true or "selfSigned": serve `pki.wrongCert` (self-signed, right IP SANs).
     * "wrongName": a CA-signed certificate whose only SAN is 127.255.255.254.
     */
    wrongCertificate?: boolean | "selfSigned" | "wrongName";
    /** The first N requests of any kind answer 503 with Retry-After: 0. */
    flaky503?: number;
    /** GET /redfish/v1 answers 308 to /redfish/v1/ (as some BMC web servers do). */
    redirectRoot?: boolean;
    /** Login answers 201 with Location but no X-Auth-Token header. */
    sessionWithoutToken?: boolean;
    /** The session POST answers 401 even for the right credentials; Basic works. */
    sessionRefused?: boolean;
    /** HTTP Basic is switched off: Authorization headers are ignored, 401 without a Basic challenge. */
    basicDisabled?: boolean;
    /**
     * "silent": BootSourceOverrideEnabled has no AllowableValues and a PATCH of "Once" is stored as
     * "Continuous". "listed": AllowableValues are Disabled/Continuous and "Once" is refused (400).
     */
    onlyContinuous?: "silent" | "listed";
    /**
     * With a settings object (dell): it lists and applies only BootSourceOverrideMode; a target or
     * Enabled PATCHed there is answered 200, echoed back as pending, and never applied (real iDRAC and
     * Lenovo XCC settings objects hold BootOrder/mode only).
     */
    settingsModeOnly?: boolean;
    /**
     * The Boot object holds only `BootOrder` (no override properties, none advertised); a PATCH of
     * an override property answers 400 PropertyUnknown.
     */
    bootOrderOnly?: boolean;
    /** The ComputerSystem has no Boot object at all. */
    noBoot?: boolean;
    /** The ComputerSystem has no UUID property. */
    noUuid?: boolean;
    /** Every PATCH of the system's Boot answers 500 after this many successful ones (restore paths). */
    bootPatchFailsAfter?: number;
    /** Once a reset of this ResetType is accepted, every later request answers 500 (its web server fell over). */
    failsAfterReset?: string;
  };
}

/** One answered request, recorded when the response is finished. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  status: number;
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  /** Request body as received (may be ""), for asserting what a client sent. */
  body: string;
  /** Response headers, names in lower case. */
  responseHeaders: Record<string, string>;
  /**
   * When the request arrived and when its answer was sent (ms since the epoch): the requests a
   * BMC had in flight at once, as it saw them, whatever the load of the machine running the test.
   */
  arrivedAt: number;
  answeredAt: number;
}

export interface BootSettings {
  BootSourceOverrideEnabled: string;
  BootSourceOverrideTarget: string;
  BootSourceOverrideMode?: string;
}

/** One boot of a system: which override (if any) it used. */
export interface BootRecord {
  /** The ResetType that caused it. */
  resetType: string;
  /** The device booted: the override target, or "None" when no override was active. */
  target: string;
  mode?: string;
  /** Date.now() when the boot happened. */
  at: number;
}

/** A snapshot (copy) of one simulated ComputerSystem; call system() again for fresh values. */
export interface SystemSnapshot {
  uuid: string;
  id: string;
  powerState: PowerState;
  boot: BootSettings;
  /** Every ResetType accepted, in order. */
  resets: string[];
  /** Every boot, in order (a reset that powers the system on or restarts it). */
  boots: BootRecord[];
  /** dell: boot settings PATCHed to the SettingsObject and not yet applied by a reset. */
  pendingBoot?: Partial<BootSettings>;
}

export interface SimulatedBmc {
  spec: BmcSpec;
  /** https://127.x.y.z:port (no trailing slash). */
  url: string;
  /** Sessions created and not deleted. */
  openSessions(): number;
  sessionsCreated(): number;
  requests: RecordedRequest[];
  system(index?: number): SystemSnapshot;
  /** Snapshots of every system, in Systems collection order. */
  systems(): SystemSnapshot[];
  /** Set the power state at once (no boot is counted, pending transitions are cancelled). */
  setPowerState(state: "On" | "Off", index?: number): void;
}

export interface Simulator {
  bmcs: SimulatedBmc[];
  bmc(address: string): SimulatedBmc;
  stop(): Promise<void>;
}
