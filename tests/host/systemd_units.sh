#!/usr/bin/env bash
# The systemd units as `make install` writes them: installed (cmake --install into a temporary
# prefix) where systemd reads them, naming the installed binaries; `systemd-analyze verify`
# accepts them without a single warning; the settings the design depends on are there; and
# iserd really is a Type=notify service: READY=1 arrives only once the control socket answers,
# STOPPING=1 and exit status 0 (no restart under Restart=on-failure) after SIGTERM.
source "$(dirname "$0")/lib/common.sh"
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed (package systemd, scripts/setup)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
[ "$(id -u)" -eq 0 ] || skip "host tests need root (iserd refuses to run otherwise)"
[ -x "$ISERD" ] && [ -x "$ISERCTL" ] || skip "build/iserd and build/iserctl are not built"

PREFIX=$WORK/prefix
UNITS=$PREFIX/lib/systemd/system

case_install() {
    cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; return 1; }
    local f
    for f in "$UNITS/iserd.service" "$UNITS/iser-apply.service" "$UNITS/iser-metrics.service" \
             "$UNITS/iser-metrics.timer" "$PREFIX/lib/modules-load.d/iser.conf" \
             "$PREFIX/sbin/iserd" "$PREFIX/sbin/iserctl" "$PREFIX/share/man/man8/iserctl.8" \
             "$PREFIX/share/bash-completion/completions/iserctl"; do
        [ -f "$f" ] || { echo "not installed: $f"; return 1; }
    done
    grep -qx "ExecStart=$PREFIX/sbin/iserd --foreground" "$UNITS/iserd.service" &&
        grep -qx "ExecStart=$PREFIX/sbin/iserctl apply" "$UNITS/iser-apply.service" &&
        grep -qx "ExecStop=$PREFIX/sbin/iserctl apply -c /dev/null" "$UNITS/iser-apply.service" &&
        grep -qx "ExecStart=$PREFIX/sbin/iserctl stats --format prometheus --output \${ISER_METRICS_FILE}" \
            "$UNITS/iser-metrics.service" &&
        ! grep -q @SBINDIR@ "$UNITS"/*.service
}

case_verify() {
    local out
    # --man=no: the man pages are installed under the temporary prefix, not where man(1) looks.
    out=$(cd "$UNITS" && systemd-analyze verify --man=no ./iserd.service ./iser-apply.service \
        ./iser-metrics.service ./iser-metrics.timer 2>&1) ||
        { echo "$out"; return 1; }
    [ -z "$out" ] || { echo "warnings: $out"; return 1; }
}

# unit_has UNIT KEY=VALUE...: each line appears exactly as given.
unit_has() {
    local unit=$1 line
    shift
    for line in "$@"; do grep -qx -- "$line" "$UNITS/$unit" || { echo "$unit lacks '$line'"; return 1; }; done
}

case_daemon_settings() {
    unit_has iserd.service Type=notify Restart=on-failure RestartSec=1 RestartPreventExitStatus=2 KillMode=mixed \
        LimitMEMLOCK=infinity TimeoutStopSec=3min After=network.target WantedBy=multi-user.target || return 1
    # iserd needs no network to start; the devices it needs must stay reachable.
    ! grep -v '^#' "$UNITS/iserd.service" | grep -q 'network-online' || { echo "iserd.service waits for network-online"; return 1; }
    ! grep -Eq '^(PrivateDevices|DevicePolicy|ProtectClock|ProtectKernelTunables|PrivateTmp)=' "$UNITS/iserd.service" ||
        { echo "iserd.service closes devices, /sys or /tmp"; return 1; }
}

case_apply_settings() {
    unit_has iser-apply.service Type=oneshot RemainAfterExit=yes Wants=iserd.service After=iserd.service \
        Wants=network-online.target After=network-online.target Wants=remote-fs-pre.target \
        "Before=remote-fs-pre.target remote-fs.target" ConditionPathExists=/etc/iser/iser.yaml \
        WantedBy=remote-fs.target || return 1
    # Wants=, not Requires= or BindsTo=: a restart of iserd (which keeps its devices) must not
    # restart this unit, whose stop unmounts everything.
    ! grep -Eq '^(Requires|BindsTo|PartOf)=.*iserd' "$UNITS/iser-apply.service" ||
        { echo "iser-apply.service would be restarted with iserd"; return 1; }
}

case_metrics_settings() {
    unit_has iser-metrics.service Type=oneshot After=iserd.service \
        Environment=ISER_METRICS_FILE=/var/lib/prometheus/node-exporter/iser.prom NoNewPrivileges=yes \
        ProtectSystem=full PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX CapabilityBoundingSet=CAP_DAC_OVERRIDE || return 1
    unit_has iser-metrics.timer OnUnitActiveSec=15s AccuracySec=1s WantedBy=timers.target || return 1
    # The timer starts the service of its own name; the service is no one's dependency.
    ! grep -q '^\[Install\]' "$UNITS/iser-metrics.service" || { echo "iser-metrics.service has an [Install]"; return 1; }
}

case_modules() {
    local listed
    listed=$(grep -v '^#' "$PREFIX/lib/modules-load.d/iser.conf" | grep . | tr '\n' ' ')
    [ "$listed" = "ublk_drv ib_uverbs rdma_ucm " ] || { echo "modules: '$listed'"; return 1; }
    grep -qx '#rdma_rxe' "$PREFIX/lib/modules-load.d/iser.conf"
}

# What systemd does with Type=notify: a datagram socket in NOTIFY_SOCKET.
case_notify() {
    python3 - "$ISERD" "$ISERCTL" "$WORK" <<'PY'
import os, signal, socket, subprocess, sys
iserd, iserctl, work = sys.argv[1:4]
notify_path, ctl = os.path.join(work, "notify"), os.path.join(work, "notify-iserd.sock")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(notify_path)
listener.settimeout(15)
env = dict(os.environ, NOTIFY_SOCKET=notify_path)
log = open(os.path.join(work, "iserd.log"), "ab")
daemon = subprocess.Popen([iserd, "--foreground", "--socket", ctl,
                           "--initiator-name", "iqn.2026-11.org.iser-initiator:notify-test"],
                          env=env, stdout=log, stderr=log)
try:
    message = listener.recv(4096).decode()
    assert "READY=1" in message.split("\n"), message
    # At READY=1 the control socket must already answer.
    listed = subprocess.run([iserctl, "--socket", ctl, "list"], capture_output=True, text=True, timeout=10)
    assert listed.returncode == 0 and listed.stdout.strip() == "No sessions.", (listed.returncode, listed.stdout, listed.stderr)
    daemon.send_signal(signal.SIGTERM)
    message = listener.recv(4096).decode()
    assert "STOPPING=1" in message.split("\n"), message
    status = daemon.wait(timeout=15)
    assert status == 0, f"exit status {status} after SIGTERM: Restart=on-failure would restart it"
    print("READY=1 with the socket answering; STOPPING=1 and status 0 on SIGTERM")
finally:
    if daemon.poll() is None:
        daemon.kill()
        daemon.wait()
PY
}

check "make install puts the units and modules-load.d/iser.conf under the prefix, naming its binaries" case_install
check "systemd-analyze verify: both units, no warning" case_verify
check "iserd.service: notify, restart on failure, KillMode=mixed, MEMLOCK, no device or /sys lockdown" case_daemon_settings
check "iser-apply.service: oneshot, wants (not requires) iserd, after it and network-online, before remote-fs-pre" case_apply_settings
check "iser-metrics.service: oneshot, hardened, default file; the timer runs it every 15 s" case_metrics_settings
check "iser.conf loads ublk_drv ib_uverbs rdma_ucm (rdma_rxe commented)" case_modules
check "iserd sends READY=1 once its socket answers, STOPPING=1 and exits 0 on SIGTERM" case_notify
finish
