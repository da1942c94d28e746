#!/usr/bin/env bash
# ublk-fs over iSCSI/TCP to LIO.
TRANSPORT=tcp exec bash "$(dirname "$0")/ublk-fs.sh"
