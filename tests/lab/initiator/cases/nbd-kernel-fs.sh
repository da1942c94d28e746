#!/usr/bin/env bash
# ublk-fs through the kernel NBD fallback (--frontend nbd: /dev/nbdN) over iSER.
FRONTEND=nbd exec bash "$(dirname "$0")/ublk-fs.sh"
