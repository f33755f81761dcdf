# The measurement phases of run-all.sh. Source after lib.sh and systems.sh; they write CSV into
# $OUT and raw output into $RAW.

# ---------- conditions ----------

# A condition's name spells its settings: rtt80-loss1 (80 ms round trip, 1% random loss each way),
# optional -rateN (Mbit/s per direction, default 100), -jitterN (ms each way), -burstPxL (bursty
# loss: P% in bursts of L packets), -reorderPxG (P% of packets G ms early).
cond_field() {  # cond_field NAME KEY DEFAULT
  local v
  v=$(sed -n "s/.*\(^\|-\)$2\([0-9.x]*\).*/\2/p" <<<"$1")
  echo "${v:-$3}"
}

cond_rtt() { cond_field "$1" rtt 0; }
cond_loss() { cond_field "$1" loss 0; }
cond_rate() { cond_field "$1" rate 100; }

# The emulator options for a condition. The bottleneck buffer is one bandwidth-delay product
# (at least 150 KB), the classic sizing: enough for one CUBIC flow to keep the link busy.
cond_wanem_opts() {
  local c=$1 rtt loss rate jitter burst reorder queue
  rtt=$(cond_rtt "$c"); loss=$(cond_loss "$c"); rate=$(cond_rate "$c")
  jitter=$(cond_field "$c" jitter 0); burst=$(cond_field "$c" burst ""); reorder=$(cond_field "$c" reorder "")
  queue=$(awk -v r="$rate" -v t="$rtt" 'BEGIN { q = r * 1e6 / 8 * t / 1000; if (q < 150000) q = 150000; printf "%d", q }')
  local opts="--delay $(awk -v t="$rtt" 'BEGIN { print t / 2 }') --loss $loss --queue $queue"
  [ "$rate" != 0 ] && opts="$opts --rate $rate"
  [ "$jitter" != 0 ] && opts="$opts --jitter $jitter"
  [ -n "$burst" ] && opts="$opts --burst-loss ${burst/x/:}"
  [ -n "$reorder" ] && opts="$opts --reorder ${reorder/x/:}"
  echo "$opts"
}

apply_condition() {  # apply_condition NAME: restart the emulator with it; record its settings
  local opts
  opts=$(cond_wanem_opts "$1")
  # shellcheck disable=SC2086
  wan_set $opts
  grep -q "^$1," "$OUT/conditions.csv" 2>/dev/null || {
    [ -s "$OUT/conditions.csv" ] || echo "condition,rtt_ms,loss_pct,rate_mbps,wanem_options" >"$OUT/conditions.csv"
    echo "$1,$(cond_rtt "$1"),$(cond_loss "$1"),$(cond_rate "$1"),$opts" >>"$OUT/conditions.csv"
  }
  log "condition $1: wanem $opts"
}

# A namespace other than the first may only default to a congestion control that the machine
# allows unprivileged sockets (net.ipv4.tcp_allowed_congestion_control, set in the initial
# namespace). allow_cc widens that list for the run; restore_cc puts it back.
allow_cc() {
  local f=/proc/sys/net/ipv4/tcp_allowed_congestion_control
  grep -qw "$1" "$f" && return 0
  [ -f "$STATE_DIR/allowed_cc.orig" ] || cat "$f" >"$STATE_DIR/allowed_cc.orig"
  echo "$(cat "$f") $1" >"$f"
}

restore_cc() {
  [ -f "$STATE_DIR/allowed_cc.orig" ] || return 0
  cat "$STATE_DIR/allowed_cc.orig" >/proc/sys/net/ipv4/tcp_allowed_congestion_control
  rm -f "$STATE_DIR/allowed_cc.orig"
}

set_cc() {  # set_cc bbr|cubic: the default congestion control of new sockets in every namespace
  local ns
  allow_cc "$1"
  for ns in "$NS_CLIENT" "$NS_POP" "$NS_ORIGIN"; do
    in_ns "$ns" sysctl -qw net.ipv4.tcp_congestion_control="$1"
  done
}

write_meta() {
  {
    echo "date=$(date -u +%FT%TZ)"
    echo "commit=$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "kernel=$(uname -r)"
    echo "cpus=$(nproc)"
    echo "cpu_model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "mode=$MODE"
    echo "java=$(java -version 2>&1 | head -1)"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
    echo "varnish=$(varnishd -V 2>&1 | head -1)"
    echo "iperf3=$(iperf3 --version | head -1)"
    echo "wrk=$(wrk -v 2>&1 | head -1)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$1"
}

# ---------- resources: CPU and memory of the systems under test ----------

# A service's processes (svc_start NAME), its descendants included (nginx's workers, varnish's
# child), one pid per line.
tree_pids() {
  local c
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

svc_pids() {
  local n
  for n in "$@"; do
    [ -f "$STATE_DIR/pids/$n.pid" ] && tree_pids "$(cat "$STATE_DIR/pids/$n.pid")"
  done
  return 0
}

# cpu_ticks PIDS...: user + system clock ticks of the processes, all their threads.
cpu_ticks() {
  local t=0 p v
  for p in "$@"; do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# peak_rss_kb PIDS...: the sum of each process's peak resident set (VmHWM).
peak_rss_kb() {
  local t=0 p v
  for p in "$@"; do
    v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# The services each system's figures count: the gateway's own processes (the origin, common to
# all, is left out; "direct" has no gateway).
system_services() {  # system_services SYSTEM WHERE(wan|loop)
  case "$1-$2" in
    nginx-wan|nginx-cache-wan) echo nginx-pop ;;
    braid-*-wan) echo "braid-fe-wan braid-be-wan" ;;
    nginx-loop|nginx-cache-loop) echo nginx-loop-pop ;;
    varnish-loop) echo varnish ;;
    braid-*-loop) echo "braid-fe-loop braid-be-loop" ;;
    origin-loop) echo nginx-loop-origin ;;
    *) echo "" ;;
  esac
}

RES_HEADER="workload,system,condition,cc,requests,cpu_s,cpu_us_per_request,peak_rss_mb,processes"
HZ=$(getconf CLK_TCK)

# res_begin SYSTEM WHERE: remembers the gateway's processes and their CPU ticks so far.
res_begin() {
  RES_PIDS=$(svc_pids $(system_services "$1" "$2") | tr '\n' ' ')
  # shellcheck disable=SC2086
  RES_T0=$(cpu_ticks $RES_PIDS)
}

# res_end WORKLOAD SYSTEM COND CC REQUESTS: one row of resources.csv for what ran since res_begin.
res_end() {
  [ -n "${RES_PIDS// /}" ] || return 0
  [ -s "$OUT/resources.csv" ] || echo "$RES_HEADER" >"$OUT/resources.csv"
  local t1 rss n
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $RES_PIDS)
  # shellcheck disable=SC2086
  rss=$(peak_rss_kb $RES_PIDS)
  n=$(wc -w <<<"$RES_PIDS")
  awk -v w="$1" -v s="$2" -v c="$3" -v cc="$4" -v r="$5" -v t=$((t1 - RES_T0)) -v hz="$HZ" -v rss="$rss" -v n="$n" 'BEGIN {
    cpu = t / hz
    printf "%s,%s,%s,%s,%d,%.2f,%s,%.1f,%d\n", w, s, c, cc, r, cpu, (r > 0 ? sprintf("%.1f", cpu * 1e6 / r) : ""), rss / 1024, n
  }' >>"$OUT/resources.csv"
}

# ---------- 1. validation ----------

VAL_HEADER="check,condition,expected,measured,unit,deviation_pct,tolerance_pct,pass,detail"

val_row() {  # val_row CHECK COND EXPECTED MEASURED UNIT TOLERANCE_PCT|info DETAIL
  local dev pass
  dev=$(awk -v e="$3" -v m="$4" 'BEGIN { printf "%.2f", (m - e) / e * 100 }')
  if [ "$6" = info ]; then
    pass=info
  else
    pass=$(awk -v d="$dev" -v t="$6" 'BEGIN { print (d <= t && d >= -t) ? "yes" : "no" }')
  fi
  echo "$1,$2,$3,$4,$5,$dev,$6,$pass,$7" >>"$OUT/validation.csv"
  log "validate $1 ($2): expected $3 $5, measured $4 $5 ($dev%) pass=$pass"
}

iperf_server() {  # one-shot iperf3 server at the origin
  svc_stop iperf3-server
  svc_start iperf3-server "$NS_ORIGIN" chrt -f 20 iperf3 -s -1 -B "$ORIGIN_IP" -p 5201
  wait_port "$NS_ORIGIN" "$ORIGIN_IP:5201" 5
}

# Both iperf3 ends run at real-time priority (below the emulator's): on a busy machine a receiver
# that is not scheduled in time drops datagrams from its socket buffer, which would read as loss
# or rate error of the emulator.
iperf_client() {  # iperf_client OUTFILE args...: -R, so the origin sends and the client measures
  local out=$1
  shift
  iperf_server
  # Bounded: the test's own length (-t) plus time for its control exchange, which a lossy
  # condition can slow with retransmission backoff.
  local t=10 prev= a
  for a in "$@"; do [ "$prev" = -t ] && t=$a; prev=$a; done
  in_ns "$NS_CLIENT" timeout $((t + 45)) chrt -f 20 iperf3 -c "$ORIGIN_IP" -p 5201 -R --json "$@" >"$out" || {
    log "iperf3 $* failed: $(head -c 300 "$out")"
    return 1
  }
  svc_stop iperf3-server
}

ping_rtt() {  # ping_rtt COUNT OUTFILE: from the client to the origin (the whole path)
  in_ns "$NS_CLIENT" chrt -f 20 ping -n -c "$1" -i 0.05 -W 2 "$ORIGIN_IP" >"$2" 2>&1 || true
}

phase_validate() {
  local mode=$1 f m
  echo "$VAL_HEADER" >"$OUT/validation.csv"
  local base=rtt80
  local ping_n=200 udp_t=10 tcp_t=15
  if [ "$mode" = smoke ]; then base=rtt20; ping_n=20; udp_t=3; fi

  # Delay and rate, no loss. Ping is light (20 pings/s) and sees the propagation delay only.
  local c="$base-rate100"
  apply_condition "$c"
  in_ns "$NS_CLIENT" ping -n -c 20 -i 0.05 "$POP_LAN_IP" >"$RAW/ping-local.txt" 2>&1 || true
  f="$RAW/validate-$c-ping.txt"
  ping_rtt "$ping_n" "$f"
  m=$($PYTHON "$PERF_DIR/scripts/measure.py" ping "$f")
  val_row rtt "$c" "$(cond_rtt "$c")" "$(cut -d, -f4 <<<"$m")" ms 5 \
    "ping client->origin: $(cut -d, -f1 <<<"$m") sent; sd $(cut -d, -f5 <<<"$m") ms"

  # UDP above the rate: the receiver sees the bottleneck rate, in payload bytes
  # (1400 of every 1428 IP bytes).
  f="$RAW/validate-$c-udp.json"
  if iperf_client "$f" -u -b 120M -l 1400 -t "$udp_t"; then
    m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-udp "$f")
    val_row rate-udp "$c" 98.04 "$(cut -d, -f1 <<<"$m")" Mbit/s 5 \
      "iperf3 UDP 120 Mbit/s offered; goodput = 100 Mbit/s x 1400/1428; queue drops $(cut -d, -f4 <<<"$m") of $(cut -d, -f3 <<<"$m")"
  fi
  [ "$mode" = smoke ] && return 0

  # TCP can fill the link: goodput = rate x 1448/1500 (TCP/IP headers with timestamps).
  f="$RAW/validate-$c-tcp.json"
  if iperf_client "$f" -C cubic -t "$tcp_t"; then
    m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-tcp "$f")
    val_row rate-tcp "$c" 96.53 "$(cut -d, -f1 <<<"$m")" Mbit/s 5 \
      "iperf3 TCP CUBIC single flow; mean of 1 s intervals after the first; retransmits $(cut -d, -f3 <<<"$m")"
  fi

  # Random loss: UDP below the rate, so only the loss knob drops packets.
  c=rtt80-loss3
  apply_condition "$c"
  f="$RAW/validate-$c-udp.json"
  if iperf_client "$f" -u -b 80M -l 1400 -t "$udp_t"; then
    m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-udp "$f")
    local ci
    ci=$($PYTHON "$PERF_DIR/scripts/measure.py" binom-ci "$(cut -d, -f4 <<<"$m")" "$(cut -d, -f3 <<<"$m")")
    val_row loss "$c" 3 "$(cut -d, -f5 <<<"$m")" % 5 \
      "iperf3 UDP 80 Mbit/s; $(cut -d, -f4 <<<"$m") of $(cut -d, -f3 <<<"$m") lost; 95% CI ${ci/,/..}%"
  fi

  # Jitter: uniform +-5 ms each way; the RTT's mean stays 80 ms, its sd is 5 x sqrt(2/3) = 4.08 ms.
  c=rtt80-jitter5
  apply_condition "$c"
  f="$RAW/validate-$c-ping.txt"
  ping_rtt "$ping_n" "$f"
  m=$($PYTHON "$PERF_DIR/scripts/measure.py" ping "$f")
  val_row rtt-jitter "$c" 80 "$(cut -d, -f4 <<<"$m")" ms 5 "ping mean with jitter"
  val_row jitter-sd "$c" 4.08 "$(cut -d, -f5 <<<"$m")" ms 15 "ping RTT sd; expected 5 ms x sqrt(2/3) (sum of two uniform +-5 ms)"

  # Bursty loss: 2% long-run in bursts of 4 packets, in the data direction only. Bursts make the
  # estimate noisier than a Bernoulli one of the same length (about 4x fewer independent events),
  # so 15% tolerance. The Gilbert chain advances per packet, so on a sparse flow (iperf3's control
  # connection) one burst spans many retransmission timeouts; hence not on the request direction.
  c=rtt80-burst2x4
  wan_set --delay 40 --rate 100 --queue 1000000 --ba-burst-loss 2:4
  log "condition $c: bursty loss origin -> pop only"
  f="$RAW/validate-$c-udp.json"
  if iperf_client "$f" -u -b 80M -l 1400 -t "$udp_t"; then
    m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-udp "$f")
    local st
    st=$(wan_stats | grep 'dir=ba')
    val_row burst-loss "$c" 2 "$(cut -d, -f5 <<<"$m")" % 15 \
      "iperf3 UDP 80 Mbit/s; Gilbert model mean burst 4; emulator dropped $(stat_of "$st" drop_burst) of $(stat_of "$st" rx_pkts) in bursts"
  fi

  # Reordering: 1% of packets 5 ms early. Counted by the emulator; iperf3 sees it as out-of-order.
  c=rtt80-reorder1x5
  apply_condition "$c"
  f="$RAW/validate-$c-udp.json"
  if iperf_client "$f" -u -b 80M -l 1400 -t "$udp_t"; then
    m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-udp "$f")
    local st rx re
    st=$(wan_stats | grep 'dir=ba')
    rx=$(stat_of "$st" rx_pkts); re=$(stat_of "$st" reordered)
    val_row reorder "$c" 1 "$(awk -v a="$re" -v b="$rx" 'BEGIN { printf "%.3f", 100 * a / b }')" % 15 \
      "emulator sent $re of $rx packets early; iperf3 counted $(cut -d, -f6 <<<"$m") out of order"
  fi
}

# ---------- 2. kernel TCP baselines ----------

phase_tcp_baselines() {
  local c cc f m
  echo "condition,rtt_ms,loss_pct,rate_mbps,cc,goodput_mbps,goodput_steady_mbps,retransmits,seconds" >"$OUT/tcp.csv"
  for c in rtt80-loss0 rtt80-loss1 rtt80-loss3 rtt20-loss0.1; do
    apply_condition "$c"
    for cc in bbr cubic; do
      f="$RAW/tcp-$c-$cc.json"
      iperf_client "$f" -C "$cc" -t 20 || continue
      m=$($PYTHON "$PERF_DIR/scripts/measure.py" iperf-tcp "$f")
      echo "$c,$(cond_rtt "$c"),$(cond_loss "$c"),$(cond_rate "$c"),$cc,$(cut -d, -f2 <<<"$m"),$(cut -d, -f1 <<<"$m"),$(cut -d, -f3 <<<"$m"),20" >>"$OUT/tcp.csv"
      log "tcp $c $cc: $(cut -d, -f2 <<<"$m") Mbit/s"
    done
  done
}

# ---------- 3. page loads and bulk downloads across the WAN ----------

system_url() {  # the base URL a client uses for each system
  case "$1" in
    direct) echo "http://$ORIGIN_IP:8000" ;;
    nginx) echo "http://$POP_LAN_IP:8090" ;;
    nginx-cache) echo "http://$POP_LAN_IP:8091" ;;
    braid-tcp|braid-udp) echo "http://$POP_LAN_IP:8080" ;;
  esac
}

note() {  # note TEXT: a line for the report's notes section
  echo "$*" >>"$OUT/notes.txt"
  log "note: $*"
}

system_up() {  # system_up SYSTEM: start what it needs (the origin is always up); 1 = skipped
  case "$1" in
    direct) ;;
    nginx|nginx-cache)
      rm -rf "$STATE_DIR/nginx-pop/cache"
      nginx_start pop "$NS_POP" pop_conf "$ORIGIN_IP:8000" "$POP_LAN_IP:8090" "$POP_LAN_IP:8091"
      wait_port "$NS_POP" "$POP_LAN_IP:8091" 10 ;;
    braid-tcp|braid-udp)
      local conf="$STATE_DIR/braid-$1.yaml"
      braid_conf "$conf" "$POP_LAN_IP:8080" "$POP_LAN_IP" "$POP_LAN_IP:8081" "$ORIGIN_IP:7070" "127.0.0.1:7071" \
        "http://127.0.0.1:8000" "${1#braid-}"
      config_check "$conf" || die "generated Braid configuration $conf is invalid"
      braid_start "$NS_POP" "$NS_ORIGIN" "$conf" wan
      wait_http "$NS_CLIENT" "http://$POP_LAN_IP:8080/page/index.html" 40 || return 1
      braid_check_carrier "$NS_POP" "$POP_LAN_IP:8081" "${1#braid-}" ;;
  esac
  return 0
}

system_down() {
  case "$1" in
    nginx|nginx-cache) svc_stop nginx-pop ;;
    braid-*) svc_stop braid-fe-wan; svc_stop braid-be-wan ;;
  esac
}

origin_up() {
  [ -f "$STATE_DIR/pids/nginx-origin.pid" ] && return 0
  nginx_start origin "$NS_ORIGIN" origin_conf "0.0.0.0:8000"
  wait_port "$NS_ORIGIN" "$ORIGIN_IP:8000" 10
}

pageload() {  # pageload SYSTEM COND CC CLIENTS PAGES MAXSECONDS
  local url summary
  url="$(system_url "$1")/page/index.html"
  res_begin "$1" wan
  summary=$(in_ns "$NS_CLIENT" java -Xmx512m -cp "$PERF_DIR/target/classes" dev.braid.perf.load.PageLoad \
    --url "$url" --clients "$4" --pages "$5" --warmup 1 --connections 6 --max-seconds "$6" --timeout-ms 20000 \
    --label "system=$1,condition=$2,cc=$3" --out "$OUT/pages.csv") || true
  printf '%s %s %s: %s\n' "$1" "$2" "$3" "$summary" | tee -a "$RAW/pageload.log" >&2
  res_end pages "$1" "$2" "$3" "$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$summary" | head -n 1)"
}

bulk() {  # bulk SYSTEM COND CC: one 10 MiB download, at most 25 s
  local url r
  url="$(system_url "$1")/bulk/10m.bin"
  [ -s "$OUT/bulk.csv" ] || echo "system,condition,cc,bytes,seconds,goodput_mbps,http_code,complete" >"$OUT/bulk.csv"
  r=$(in_ns "$NS_CLIENT" curl -s -o /dev/null -m 25 -w '%{size_download} %{time_total} %{http_code}' "$url" || true)
  read -r bytes secs code <<<"$r"
  echo "$1,$2,$3,$bytes,$secs,$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.3f", (s > 0 ? b * 8 / s / 1e6 : 0) }'),$code,$([ "$bytes" = 10485760 ] && echo 1 || echo 0)" >>"$OUT/bulk.csv"
  log "bulk $1 $2 $3: $bytes bytes in $secs s"
}

# ---------- 3b. two client classes across the WAN ----------

# classmix SYSTEM COND CC MODE: gold's small no-store requests alone, then while bronze downloads
# fill the WAN, then both classes downloading at once (byte shares). See ClassMix.
classmix() {
  local stages=(--alone-seconds 10 --ramp-seconds 3 --loaded-seconds 15 --share-seconds 15)
  [ "$4" = smoke ] && stages=(--alone-seconds 2 --ramp-seconds 1 --loaded-seconds 2 --share-seconds 2
    --bronze-connections 2 --share-connections 1)
  in_ns "$NS_CLIENT" timeout 150 java -Xmx256m -cp "$PERF_DIR/target/classes" dev.braid.perf.load.ClassMix \
    --base "$(system_url "$1")" --gold-path /miss/1k.bin --bulk-path /bulk/10m.bin \
    --gold-header "Cookie: tier=gold" --bronze-header "Cookie: tier=bronze" "${stages[@]}" \
    --label "system=$1,condition=$2,cc=$3" --out "$OUT/classes.csv" 2>&1 | sed "s/^/$1 $2 $3: /" | tee -a "$RAW/classes.log" >&2
}

# Every system but nginx-cache (all of this workload is no-store: the same as nginx without it).
phase_classes() {  # phase_classes MODE COND CC "SYSTEMS"
  local mode=$1 c=$2 cc=$3 systems=$4 s
  apply_condition "$c"
  set_cc "$cc"
  origin_up
  for s in $systems; do
    [ "$s" = nginx-cache ] && continue
    CURRENT_RUN="classes, $c, $cc"
    system_up "$s" || { note "$s did not serve within its start-up limit under $cc, $c: classes skipped there"; system_down "$s"; continue; }
    in_ns "$NS_CLIENT" wrk -t1 -c8 -d5s -H "Cookie: tier=gold" "$(system_url "$s")/miss/1k.bin" >"$RAW/warmup-classes-$s-$c-$cc.txt" 2>&1 || true
    classmix "$s" "$c" "$cc" "$mode"
    system_down "$s"
  done
}

phase_pages() {  # phase_pages MODE COND CC "SYSTEMS"
  local mode=$1 c=$2 cc=$3 systems=$4 s
  apply_condition "$c"
  set_cc "$cc"
  origin_up
  for s in $systems; do
    CURRENT_RUN="$c, $cc"
    system_up "$s" || { note "$s did not serve within its start-up limit under $cc, $c: skipped there"; system_down "$s"; continue; }
    # The same warm-up for every system: 10 s of the page workload itself, unmeasured, so a JVM
    # (Braid) is measured with its compiler done with new connections, large bodies and the HTML's
    # trip across the link (a small-object warm-up left those paths compiling during the
    # measured loads), every pool and link is open, and a cache holds the objects.
    [ "$mode" = smoke ] || in_ns "$NS_CLIENT" java -Xmx512m -cp "$PERF_DIR/target/classes" dev.braid.perf.load.PageLoad \
      --url "$(system_url "$s")/page/index.html" --clients 6 --pages 1000 --warmup 0 --connections 6 \
      --max-seconds 10 --timeout-ms 20000 >"$RAW/warmup-$s-$c-$cc.txt" 2>&1 || true
    if [ "$mode" = smoke ]; then
      pageload "$s" "$c" "$cc" 2 2 30
      # The class workload's smoke rides on a system already up, to stay within the smoke's time.
      [ "$s" = braid-udp ] && classmix "$s" "$c" "$cc" smoke
    else
      pageload "$s" "$c" "$cc" 6 8 90
      [ "$s" = nginx-cache ] || bulk "$s" "$c" "$cc"
    fi
    system_down "$s"
  done
}

# ---------- 4. cache hits and the miss path on loopback ----------

# wrk_row CSV_FILE SYSTEM URL NS WARMUP_S: warm-up, then the measured run; one CSV row. The origin
# counts what reaches it during the measured run (stub_status): a cache hit sends nothing.
LOOP_RUN_S=${LOOP_RUN_S:-10}
wrk_row() {
  local csv=$1 s=$2 url=$3 ns=$4 warmup=$5 hdr before after out
  in_ns "$ns" curl -s -o /dev/null "$url" || true
  hdr=$(in_ns "$ns" curl -s -D - -o /dev/null "$url" | tr -d '\r' | { grep -iE '^(x-cache|x-cache-status|age|x-varnish):' || true; } | tr '\n' ' ' | sed 's/,/;/g; s/ *$//')
  # The same warm-up for every system, long enough for a JVM's compiler to finish with the path,
  # as in a node that has been up for a while: on two busy shared cores Braid's miss path takes
  # about 35 s of this load to reach its plateau, its hit path (after the miss path) less.
  in_ns "$ns" wrk -t2 -c100 -d"${warmup}s" "$url" >/dev/null 2>&1 || true
  before=$(in_ns "$ns" curl -s http://127.0.0.1:8000/status | sed -n '3p' | awk '{ print $3 }')
  out="$RAW/wrk-$(basename "$csv" .csv)-$s.txt"
  res_begin "$s" loop
  in_ns "$ns" wrk -t2 -c100 -d"${LOOP_RUN_S}s" --latency "$url" >"$out" 2>&1 || true
  res_end "$(basename "$csv" .csv)" "$s" loopback - "$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")"
  after=$(in_ns "$ns" curl -s http://127.0.0.1:8000/status | sed -n '3p' | awk '{ print $3 }')
  $PYTHON - "$out" "$s" "$((after - before - 1))" "$hdr" >>"$csv" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r'^\s*' + label + r'%\s+([0-9.]+)(us|ms|s)\s*$', text, re.M)
    if not m:
        return ''
    v = float(m.group(1))
    return f"{v / 1000 if m.group(2) == 'us' else v * 1000 if m.group(2) == 's' else v:.3f}"
rps = re.search(r'Requests/sec:\s+([0-9.]+)', text)
reqs = re.search(r'(\d+) requests in', text)
errs = sum(int(x) for x in re.findall(r'(?:connect|read|write|timeout) (\d+)', text))
non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
errs += int(non2xx.group(1)) if non2xx else 0
origin = max(0, int(sys.argv[3])) if sys.argv[2] != 'origin' else ''
print(f"{sys.argv[2]},{rps.group(1) if rps else ''},{ms('50')},{ms('99')},{reqs.group(1) if reqs else ''},{errs},{origin},{sys.argv[4]}")
PY
  log "$(basename "$csv" .csv) $s: $(tail -1 "$csv")"
}

# Cache hits (1 KiB, cacheable) and the miss path (the same object, no-store) with wrk, 100
# connections, all on one namespace's loopback: nginx proxy_cache, Varnish and Braid for hits;
# nginx two-tier (keep-alive upstream) and Braid front-end -> TMP -> back-end for misses. Braid
# runs twice, over each carrier; the miss path goes first, so the hit path is measured warm.
phase_loopback() {  # phase_loopback MODE
  local mode=$1 ns=$NS_LOOP s carrier hit_w=15 miss_w=40
  CURRENT_RUN=loopback
  grep -qw "^$ns" <<<"$(ip netns list)" && ip netns del "$ns"
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
  local header="system,requests_per_s,latency_p50_ms,latency_p99_ms,requests,errors,origin_requests,cache_header"
  echo "$header" >"$OUT/cachehit.csv"
  echo "$header" >"$OUT/misspath.csv"
  nginx_start loop-origin "$ns" origin_conf "127.0.0.1:8000"
  wait_port "$ns" 127.0.0.1:8000 10
  nginx_start loop-pop "$ns" pop_conf "127.0.0.1:8000" "127.0.0.1:8090" "127.0.0.1:8091"
  wait_port "$ns" 127.0.0.1:8091 10
  if [ "$mode" = smoke ]; then
    hit_w=2 miss_w=2 LOOP_RUN_S=3
  else
    mkdir -p "$STATE_DIR/varnish"
    svc_start varnish "$ns" varnishd -F -n "$STATE_DIR/varnish" -a 127.0.0.1:8092 -b 127.0.0.1:8000 \
      -s malloc,256m -p thread_pool_min=50
    wait_port "$ns" 127.0.0.1:8092 20
    wrk_row "$OUT/cachehit.csv" origin http://127.0.0.1:8000/hit/1k.bin "$ns" "$hit_w"
    wrk_row "$OUT/cachehit.csv" nginx-cache http://127.0.0.1:8091/hit/1k.bin "$ns" "$hit_w"
    wrk_row "$OUT/cachehit.csv" varnish http://127.0.0.1:8092/hit/1k.bin "$ns" "$hit_w"
    svc_stop varnish
  fi
  wrk_row "$OUT/misspath.csv" nginx http://127.0.0.1:8090/miss/1k.bin "$ns" "$miss_w"
  svc_stop nginx-loop-pop
  for carrier in udp tcp; do
    s=braid-$carrier
    local conf="$STATE_DIR/braid-loop-$carrier.yaml"
    braid_conf "$conf" 127.0.0.1:8080 127.0.0.1 127.0.0.1:8081 127.0.0.1:7070 127.0.0.1:7071 http://127.0.0.1:8000 "$carrier"
    config_check "$conf" || die "generated Braid configuration $conf is invalid"
    braid_start "$ns" "$ns" "$conf" loop
    if wait_http "$ns" http://127.0.0.1:8080/miss/1k.bin 40; then
      braid_check_carrier "$ns" 127.0.0.1:8081 "$carrier"
      wrk_row "$OUT/misspath.csv" "$s" http://127.0.0.1:8080/miss/1k.bin "$ns" "$miss_w"
      [ "$mode" = smoke ] || wrk_row "$OUT/cachehit.csv" "$s" http://127.0.0.1:8080/hit/1k.bin "$ns" "$hit_w"
    else
      note "loopback: the Braid front-end ($s) did not answer"
    fi
    svc_stop braid-fe-loop; svc_stop braid-be-loop
  done
  svc_stop nginx-loop-origin
  ip netns del "$ns"
}

# ---------- 6. DNS ----------

# The redirector beside NSD on the machine's loopback (no WAN: DNS answers are one datagram each
# way), dnsperf as the load; perf/scripts/dns-bench.sh does the work and appends to dns.csv.
phase_dns() {
  local secs=10
  [ "$MODE" = smoke ] && secs=2
  command -v dnsperf >/dev/null && [ -x /usr/sbin/nsd ] || { note "dns: dnsperf or nsd missing, skipped"; return 0; }
  DNS_CSV="$OUT/dns.csv" bash "$PERF_DIR/scripts/dns-bench.sh" "$secs" 2>&1 | tee "$RAW/dns-bench.log" >&2 \
    || note "dns: the benchmark failed (see raw/dns-bench.log)"
}
