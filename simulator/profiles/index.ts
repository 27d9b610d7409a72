/** The vendor profiles by name. */
import type { VendorProfile } from "../types";
import { ami } from "./ami";
import { bladed } from "./bladed";
import { dell } from "./dell";
import { generic } from "./generic";
import { hpe } from "./hpe";
import { lenovo } from "./lenovo";
import { openbmc } from "./openbmc";
import type { Profile } from "./profile";
import { supermicro } from "./supermicro";
import { sushyLibvirt } from "./sushyLibvirt";

export type { BootPatch, Profile } from "./profile";

export const profiles: Record<VendorProfile, Profile> = { generic, dell, hpe, supermicro, openbmc, ami, lenovo, bladed, sushyLibvirt };
