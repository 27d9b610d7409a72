/** generic: the DMTF public-rackmount1 mockup served as it is (Contoso 3500, system 437XR1138R2). */
import { baseProfile, type Profile } from "./profile";

export const generic: Profile = { ...baseProfile, name: "generic" };
