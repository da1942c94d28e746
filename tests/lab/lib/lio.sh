# LIO (the kernel's iSCSI/iSER target) configured through configfs only: targetcli wants D-Bus,
# which the VM lacks. Backing files are fileio backstores on tmpfs, or (--iblock-loop) iblock
# backstores on loop devices over tmpfs files, whose size can change under a live LUN.

LAB_LIO_ROOT=/sys/kernel/config/target
LAB_LIO_IQN_PREFIX=${LAB_LIO_IQN_PREFIX:-iqn.2024-01.lab.iser}
LAB_LIO_BACKING_DIR=${LAB_LIO_BACKING_DIR:-/tmp/lab-lio}

# lab_lio_target NAME [options]: create an enabled target; print its IQN on stdout.
#   --iqn IQN               target name (default $LAB_LIO_IQN_PREFIX:NAME)
#   --luns N                number of LUNs, 0..N-1 (default 1)
#   --size SIZE             size of each LUN, truncate(1) syntax (default 64M)
#   --block-size 512|4096   logical block size (default 512)
#   --iser ADDR:PORT        iSER portal (repeatable; default $LAB_ADDR1:3260 when no portal given)
#   --tcp ADDR:PORT         plain TCP portal (repeatable)
#   --initiator IQN         explicit ACL for this initiator (turns off generate_node_acls);
#                           default $LAB_INITIATOR_IQN when CHAP is asked for
#   --chap USER:SECRET      one-way CHAP: the initiator must prove it knows SECRET
#   --mutual-chap USER:SECRET  the target's own credentials for mutual CHAP (needs --chap)
#   --tpg-attrib KEY=VALUE  any tpgt_1/attrib/KEY (repeatable), e.g. default_cmdsn_depth=16
#   --param KEY=VALUE       any tpgt_1/param/KEY (repeatable), e.g. ImmediateData=No
#   --dev-attrib KEY=VALUE  any backstore attrib/KEY (repeatable), e.g. emulate_write_cache=1
#   --cmdsn-depth N         shorthand for --tpg-attrib default_cmdsn_depth=N
#   --no-unmap              leave UNMAP/WRITE SAME off (default: emulate_tpu=1 emulate_tpws=1)
#   --iblock-loop           iblock backstores on loop devices over the backing files instead of
#                           fileio: READ CAPACITY follows the loop device, so lab_lio_resize can
#                           grow a live LUN
lab_lio_target() {
  local name=${1:?usage: lab_lio_target NAME [options]}; shift
  local iqn="$LAB_LIO_IQN_PREFIX:$name" luns=1 size=64M block_size=512 initiator='' chap='' mutual='' unmap=1
  local kind=fileio
  local -a iser=() tcp=() tpg_attribs=() params=() dev_attribs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --iqn) iqn=$2; shift ;;
      --luns) luns=$2; shift ;;
      --size) size=$2; shift ;;
      --block-size) block_size=$2; shift ;;
      --iser) iser+=("$2"); shift ;;
      --tcp) tcp+=("$2"); shift ;;
      --initiator) initiator=$2; shift ;;
      --chap) chap=$2; shift ;;
      --mutual-chap) mutual=$2; shift ;;
      --tpg-attrib) tpg_attribs+=("$2"); shift ;;
      --param) params+=("$2"); shift ;;
      --dev-attrib) dev_attribs+=("$2"); shift ;;
      --cmdsn-depth) tpg_attribs+=("default_cmdsn_depth=$2"); shift ;;
      --no-unmap) unmap=0 ;;
      --iblock-loop) kind=iblock ;;
      *) lab_die "lab_lio_target: unknown option '$1'" ;;
    esac
    shift
  done
  [[ $name =~ ^[a-z0-9.-]+$ ]] || lab_die "lab_lio_target: NAME '$name' must be lowercase letters, digits, '.' or '-'"
  [[ $luns =~ ^[0-9]+$ ]] || lab_die "lab_lio_target: --luns '$luns' is not a number"
  [ "$block_size" = 512 ] || [ "$block_size" = 4096 ] || lab_die "lab_lio_target: --block-size must be 512 or 4096"
  [ -z "$mutual" ] || [ -n "$chap" ] || lab_die "lab_lio_target: --mutual-chap needs --chap"
  [ -z "$chap" ] || [ -n "$initiator" ] || initiator=$LAB_INITIATOR_IQN
  [ ${#iser[@]} -gt 0 ] || [ ${#tcp[@]} -gt 0 ] || iser=("${LAB_ADDR1:-10.77.0.1}:3260")

  lab_modprobe configfs target_core_mod target_core_file iscsi_target_mod
  [ "$kind" = fileio ] || lab_modprobe target_core_iblock loop
  [ ${#iser[@]} -eq 0 ] || lab_modprobe ib_isert
  local tpg=$LAB_LIO_ROOT/iscsi/$iqn/tpgt_1 state="$LAB_STATE/lio/$name"
  [ ! -e "$LAB_LIO_ROOT/iscsi/$iqn" ] || lab_die "lab_lio_target: target $iqn exists already"
  mkdir -p "$LAB_STATE/lio" "$LAB_LIO_BACKING_DIR"
  printf 'iqn=%q\nluns=%q\nkind=%q\n' "$iqn" "$luns" "$kind" >"$state"   # what lab_lio_teardown undoes

  # One process per step for all LUNs, not one per LUN: in the emulated VM a process costs tens
  # of milliseconds, and a target of 256 LUNs took over a minute to make one LUN at a time.
  local i kv dev file loop bytes=0
  local -a files=() devs=() lun_dirs=()
  for ((i = 0; i < luns; i++)); do
    files+=("$LAB_LIO_BACKING_DIR/${name}_lun$i.img")
    devs+=("$LAB_LIO_ROOT/core/${kind}_0/${name}_lun$i")
    lun_dirs+=("$tpg/lun/lun_$i")
  done
  if [ "$luns" -gt 0 ]; then
    truncate -s "$size" "${files[@]}" || lab_die "cannot create the backing files ($size)"
    bytes=$(stat -c %s "${files[0]}")
    mkdir -p "${devs[@]}" || lab_die "cannot create the backstores"
  fi
  for ((i = 0; i < luns; i++)); do
    dev=${devs[$i]}
    file=${files[$i]}
    if [ "$kind" = iblock ]; then
      loop=$(losetup --find --show "$file") || lab_die "cannot attach $file to a loop device"
      echo "loop$i=$loop" >>"$state"
      echo "udev_path=$loop" >"$dev/control"
    else
      echo "fd_dev_name=$file,fd_dev_size=$bytes" >"$dev/control"
    fi
    echo 1 >"$dev/enable" || lab_die "cannot enable backstore $dev"
    # Attributes first: block_size cannot change once the device is exported through a LUN.
    _lab_lio_write "$dev/attrib/block_size" "$block_size"
    if [ "$unmap" = 1 ]; then
      _lab_lio_write "$dev/attrib/emulate_tpu" 1
      _lab_lio_write "$dev/attrib/emulate_tpws" 1
    fi
    for kv in "${dev_attribs[@]}"; do _lab_lio_write "$dev/attrib/${kv%%=*}" "${kv#*=}"; done
  done

  mkdir -p "$tpg" || lab_die "cannot create $tpg"
  [ "$luns" -eq 0 ] || mkdir "${lun_dirs[@]}" || lab_die "cannot create the LUNs of $tpg"
  for ((i = 0; i < luns; i++)); do
    ln -s "${devs[$i]}" "${lun_dirs[$i]}/backstore" || lab_die "cannot map LUN $i"
  done
  local portal
  for portal in "${tcp[@]}"; do
    mkdir "$tpg/np/$portal" || lab_die "cannot open TCP portal $portal"
  done
  for portal in "${iser[@]}"; do
    [ -d "$tpg/np/$portal" ] || mkdir "$tpg/np/$portal" || lab_die "cannot open portal $portal"
    echo 1 >"$tpg/np/$portal/iser" || lab_die "cannot enable iSER on portal $portal (is rxe up? lab_rxe_up)"
  done

  # Attributes before ACLs: an explicit ACL takes its queue depth from default_cmdsn_depth.
  if [ -n "$initiator" ]; then
    _lab_lio_write "$tpg/attrib/generate_node_acls" 0
    _lab_lio_write "$tpg/attrib/authentication" "$([ -n "$chap" ] && echo 1 || echo 0)"
  else
    _lab_lio_write "$tpg/attrib/generate_node_acls" 1
    _lab_lio_write "$tpg/attrib/cache_dynamic_acls" 1
    _lab_lio_write "$tpg/attrib/demo_mode_write_protect" 0
    _lab_lio_write "$tpg/attrib/authentication" 0
  fi
  for kv in "${tpg_attribs[@]}"; do _lab_lio_write "$tpg/attrib/${kv%%=*}" "${kv#*=}"; done
  for kv in "${params[@]}"; do _lab_lio_write "$tpg/param/${kv%%=*}" "${kv#*=}"; done

  if [ -n "$initiator" ]; then
    local acl=$tpg/acls/$initiator
    mkdir -p "$acl" || lab_die "cannot create ACL for $initiator"
    local -a acl_dirs=()
    for ((i = 0; i < luns; i++)); do acl_dirs+=("$acl/lun_$i"); done
    [ "$luns" -eq 0 ] || mkdir "${acl_dirs[@]}" || lab_die "cannot create the ACL's LUNs"
    for ((i = 0; i < luns; i++)); do
      ln -s "${lun_dirs[$i]}" "${acl_dirs[$i]}/mapped" || lab_die "cannot map LUN $i into the ACL"
    done
    # No trailing newline: with one, LIO compares "user\n" and logs "CHAP_N values do not match!".
    if [ -n "$chap" ]; then
      _lab_lio_write_raw "$acl/auth/userid" "${chap%%:*}"
      _lab_lio_write_raw "$acl/auth/password" "${chap#*:}"
    fi
    if [ -n "$mutual" ]; then
      _lab_lio_write_raw "$acl/auth/userid_mutual" "${mutual%%:*}"
      _lab_lio_write_raw "$acl/auth/password_mutual" "${mutual#*:}"
    fi
  fi

  echo 1 >"$tpg/enable" || lab_die "cannot enable $iqn"
  lab_log "lio: $iqn, $luns x $size $kind LUN(s), ${block_size}-byte blocks, iser [${iser[*]}] tcp [${tcp[*]}]${initiator:+, ACL $initiator}${chap:+, CHAP}${mutual:+ mutual}"
  echo "$iqn"
}

# lab_lio_resize NAME LUN SIZE: a new size (truncate(1) syntax) for LUN of a --iblock-loop
# target, live: the backing file, then the loop device (losetup -c); LIO reports it on the next
# READ CAPACITY (it raises no UNIT ATTENTION of its own: initiators rescan).
lab_lio_resize() {
  local name=$1 lun=$2 size=$3 state="$LAB_STATE/lio/$1" kind='' loop
  [ -f "$state" ] || lab_die "lab_lio_resize: no target named $name"
  # shellcheck source=/dev/null
  source "$state"
  [ "$kind" = iblock ] || lab_die "lab_lio_resize: $name is not an --iblock-loop target"
  loop=$(sed -n "s/^loop$lun=//p" "$state")
  [ -n "$loop" ] || lab_die "lab_lio_resize: $name has no LUN $lun"
  truncate -s "$size" "$LAB_LIO_BACKING_DIR/${name}_lun$lun.img" || lab_die "cannot resize the backing file of $name LUN $lun"
  losetup -c "$loop" || lab_die "losetup -c $loop failed"
  lab_log "lio: $name LUN $lun is now $(blockdev --getsize64 "$loop") bytes ($loop)"
}

# lab_lio_teardown [NAME...]: remove the named targets (default: every one lab_lio_target made),
# their ACLs, portals, LUNs, backstores and backing files, children before parents.
lab_lio_teardown() {
  local name names=("$@")
  if [ ${#names[@]} -eq 0 ]; then
    for name in "$LAB_STATE"/lio/*; do [ -e "$name" ] && names+=("$(basename "$name")"); done
  fi
  for name in "${names[@]}"; do _lab_lio_remove "$name"; done
}

_lab_lio_remove() {
  local name=$1 state="$LAB_STATE/lio/$1" iqn luns kind=fileio
  [ -f "$state" ] || { lab_log "lio: no target named $name"; return 1; }
  # shellcheck source=/dev/null
  source "$state"
  local target=$LAB_LIO_ROOT/iscsi/$iqn tpg=$LAB_LIO_ROOT/iscsi/$iqn/tpgt_1 d i
  # Batched like lab_lio_target: one rm or rmdir for all the LUNs' entries of a level.
  local -a links=() dirs=()
  if [ -d "$tpg" ]; then
    echo 0 >"$tpg/enable" 2>/dev/null || true   # also ends the target's sessions
    for d in "$tpg"/acls/*/; do
      [ -d "$d" ] || continue
      links=() dirs=()
      for i in "$d"lun_*/*; do if [ -L "$i" ]; then links+=("$i"); fi; done
      for i in "$d"lun_*/; do if [ -d "$i" ]; then dirs+=("$i"); fi; done
      [ ${#links[@]} -eq 0 ] || rm -f "${links[@]}"
      [ ${#dirs[@]} -eq 0 ] || rmdir "${dirs[@]}" || true
      rmdir "$d" || true
    done
    for d in "$tpg"/np/*/; do
      [ -d "$d" ] || continue
      if [ -f "$d/iser" ]; then echo 0 >"$d/iser" 2>/dev/null || true; fi
      rmdir "$d" || true
    done
    links=() dirs=()
    for d in "$tpg"/lun/lun_*/; do
      [ -d "$d" ] || continue
      dirs+=("$d")
      for i in "$d"*; do if [ -L "$i" ]; then links+=("$i"); fi; done
    done
    [ ${#links[@]} -eq 0 ] || rm -f "${links[@]}"
    [ ${#dirs[@]} -eq 0 ] || rmdir "${dirs[@]}" || true
    rmdir "$tpg" || true
  fi
  if [ -d "$target" ]; then rmdir "$target" || true; fi
  local loop
  local -a stores=() files=()
  for ((i = 0; i < luns; i++)); do
    if [ -d "$LAB_LIO_ROOT/core/${kind}_0/${name}_lun$i" ]; then stores+=("$LAB_LIO_ROOT/core/${kind}_0/${name}_lun$i"); fi
    files+=("$LAB_LIO_BACKING_DIR/${name}_lun$i.img")
  done
  [ ${#stores[@]} -eq 0 ] || rmdir "${stores[@]}" || true
  if [ "$kind" = iblock ]; then
    for ((i = 0; i < luns; i++)); do
      loop=$(sed -n "s/^loop$i=//p" "$state")
      if [ -n "$loop" ]; then losetup -d "$loop" || true; fi
    done
  fi
  [ ${#files[@]} -eq 0 ] || rm -f "${files[@]}"
  rmdir "$LAB_LIO_ROOT/core/${kind}_0" 2>/dev/null || true   # only when no backstore is left
  rm -f "$state"
  if [ -d "$target" ]; then lab_log "lio: could not remove $iqn completely"; return 1; fi
  lab_log "lio: removed $iqn"
}

# configfs attribute writes that fail must say which attribute and value.
_lab_lio_write() { echo "$2" >"$1" 2>/dev/null || lab_die "lio: cannot set ${1#"$LAB_LIO_ROOT"/} to '$2'"; }
_lab_lio_write_raw() { printf '%s' "$2" >"$1" 2>/dev/null || lab_die "lio: cannot set ${1#"$LAB_LIO_ROOT"/}"; }
