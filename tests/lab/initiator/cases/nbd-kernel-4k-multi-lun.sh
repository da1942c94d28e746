#!/usr/bin/env bash
# ublk-4k-multi-lun through the kernel NBD fallback (--frontend nbd: /dev/nbdN) over iSER.
FRONTEND=nbd exec bash "$(dirname "$0")/ublk-4k-multi-lun.sh"
