/**
 * The cloud's admin credentials as the program made them: keystone's bootstrap (formulas/keystone/
 * configure) registers user `admin` in project `admin`, domain Default, with the password
 * SECRET_KEYSTONE_ADMIN derived from the stack's `kinetic:serviceSecret`, and the identity endpoint
 * `http://<haproxy's first address, else keystone endpoint 0's>:5000/v3/`. Everything that acts as
 * the admin (verify, openrc, lab shell) takes them from here, so they cannot drift apart.
 */
import { deriveSecretAt, epochOf, SecretEpochs } from "../components/secretEpochs";
import type { Cloud } from "../pillar";

export interface AdminCredentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  region: string;
  /** CA bundle for an https `authUrl` (none: keystone is served over http today). */
  cacert?: string;
}

/** Where keystone's bootstrap put the identity endpoint (the same choice as formulas/keystone/configure). */
export function keystoneAuthUrl(cloud: Cloud): string {
  const haproxy = cloud.endpoints.find((e) => e.type === "haproxy");
  const keystone = cloud.endpoints.find((e) => e.role === "keystone" && e.index === 0);
  const host = haproxy?.address ?? keystone?.address;
  if (!host) throw new Error("the pillar has no keystone endpoint: there is no cloud to log in to");
  return `http://${host}:5000/v3`;
}

/**
 * The admin's credentials for a cloud deployed from `cloud` with the stack's service secret, at the
 * stack's epochs (`kinetic:epochs`): after `kinetic rotate --class service` the admin's password is
 * the new one, and the old one is refused.
 */
export function adminCredentials(cloud: Cloud, serviceSecret: string, epochs: SecretEpochs = {}): AdminCredentials {
  return {
    authUrl: keystoneAuthUrl(cloud),
    username: "admin",
    password: deriveSecretAt(serviceSecret, "SECRET_KEYSTONE_ADMIN", epochOf("SECRET_KEYSTONE_ADMIN", epochs)),
    projectName: "admin",
    userDomainName: "Default",
    projectDomainName: "Default",
    region: "RegionOne",
  };
}

/** The `OS_*` variables the OpenStack clients (and python-tempestconf) read. */
export function osEnvironment(c: AdminCredentials): Record<string, string> {
  return {
    OS_AUTH_URL: c.authUrl,
    OS_AUTH_TYPE: "password",
    OS_USERNAME: c.username,
    OS_PASSWORD: c.password,
    OS_PROJECT_NAME: c.projectName,
    OS_USER_DOMAIN_NAME: c.userDomainName,
    OS_PROJECT_DOMAIN_NAME: c.projectDomainName,
    OS_REGION_NAME: c.region,
    OS_IDENTITY_API_VERSION: "3",
    OS_INTERFACE: "public",
    ...(c.cacert ? { OS_CACERT: c.cacert } : {}),
  };
}

/** A value quoted for a POSIX shell: the password may hold anything. */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** An openrc file: `export OS_...=...` lines a shell sources. */
export function openrc(c: AdminCredentials, comment: string): string {
  const lines = Object.entries(osEnvironment(c)).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  return `# ${comment}\n${lines.join("\n")}\n`;
}
