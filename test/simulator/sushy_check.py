#!/usr/bin/python3
"""Drive a simulated BMC with sushy (OpenStack's Redfish client, Debian
python3-sushy), a client nobody in this project wrote, and print what it saw
as one JSON object on stdout. Run by test/simulator/simulator.test.ts.

Steps: session login (session auth only, so a broken session service fails
instead of silently falling back to Basic), list systems, read UUID and power
state of each, set a one-time PXE boot override on the first, reset it
(ForceRestart when On, On when Off, like Kinetic), log out.
"""
import argparse
import json
import logging
import os
import sys

import sushy
from sushy import auth as sushy_auth


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--ca", required=True, help="CA bundle to verify the BMC certificate against")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="password")
    p.add_argument("--mode", default=None, help="also set BootSourceOverrideMode (supermicro needs it)")
    args = p.parse_args()

    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's
    # `verify` (psf/requests#3829), which is how sushy passes the CA: drop them
    # so the certificate is checked against the test CA and nothing else.
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)

    # sushy logs its ETag fallbacks (weak -> strong) at INFO/WARNING; keep them on stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)

    auth = sushy_auth.SessionAuth(username=args.user, password=args.password)
    root = sushy.Sushy(args.url, auth=auth, verify=args.ca)
    out = {"sessionUri": auth.get_session_resource_id(), "systems": []}
    systems = root.get_system_collection()
    for member in systems.get_members():
        out["systems"].append({"id": member.identity, "uuid": member.uuid, "powerState": member.power_state,
                               "manufacturer": member.manufacturer})

    first = systems.get_members()[0]
    out["allowedResets"] = sorted(v.value for v in first.get_allowed_reset_system_values())
    out["settingsUri"] = first._settings.resource_uri if first._settings else None
    first.set_system_boot_options(target=sushy.BOOT_SOURCE_TARGET_PXE,
                                  enabled=sushy.BOOT_SOURCE_ENABLED_ONCE,
                                  mode=args.mode)
    first.refresh()
    out["bootAfterPatch"] = {"target": first.boot.target, "enabled": first.boot.enabled}
    reset = sushy.RESET_FORCE_RESTART if first.power_state == sushy.POWER_STATE_ON else sushy.RESET_ON
    first.reset_system(reset)
    out["reset"] = reset
    auth.close()
    out["sessionAfterLogout"] = auth.get_session_resource_id()
    print(json.dumps(out, default=lambda o: getattr(o, "value", str(o))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
