# The systems under test and the origin, started inside the topology's namespaces. Source it after
# lib.sh. Every process is started in the background with its pid in $STATE_DIR/pids/NAME.pid and
# stopped by that pid only (svc_stop NAME, svc_stop_all).
#
#   origin nginx     braid-origin  0.0.0.0:8000        static content (content.py), keep-alive
#   pop nginx        braid-pop     198.18.1.1:8090     reverse proxy, keep-alive upstream, no cache
#                                  198.18.1.1:8091     the same with proxy_cache
#   braid back-end   braid-origin  198.18.0.2:7070     TMP (UDP and TCP); origin 127.0.0.1:8000
#   braid front-end  braid-pop     198.18.1.1:8080     HTTP, cache on; TMP link across the WAN
#                                                      (braid-udp: UDP carrier, braid-tcp: TCP only)
#   loopback set     braid-loop    127.0.0.1 only      origin :8000, nginx :8090 (no cache) and
#                                                      :8091 (cache), varnish :8092,
#                                                      braid :8080 -> :7070 -> :8000

BRAID_JAR=${BRAID_JAR:-$REPO_DIR/cli/target/braid.jar}
# The front-end's access log is off, as nginx's is here (access_log off): one synchronous line per
# request to a log file costs the same everywhere and says nothing the load generator does not.
BRAID_JAVA_OPTS=${BRAID_JAVA_OPTS:--Xms512m -Xmx1g -Dorg.slf4j.simpleLogger.log.braid.access=warn}
WWW_DIR="$STATE_DIR/www"

svc_start() {  # svc_start NAME NETNS command... (output to $STATE_DIR/logs/NAME.log)
  local name=$1 ns=$2
  shift 2
  mkdir -p "$STATE_DIR/pids" "$STATE_DIR/logs"
  ip netns exec "$ns" "$@" >"$STATE_DIR/logs/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/pids/$name.pid"
}

svc_stop() {  # svc_stop NAME: TERM, then KILL after 5 s
  local f="$STATE_DIR/pids/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

svc_stop_all() {
  local f
  for f in "$STATE_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    svc_stop "$(basename "$f" .pid)"
  done
}

# wait_http NS URL SECONDS: until URL answers 200 from inside NS, for at most SECONDS in all.
wait_http() {
  local ns=$1 url=$2 secs=$3 deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(ip netns exec "$ns" curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    sleep 0.2
  done
  log "no 200 from $url in $ns after ${secs}s"
  return 1
}

# wait_port NS ADDR:PORT SECONDS: until a TCP listener is there.
wait_port() {
  local ns=$1 hp=$2 secs=$3 i
  for i in $(seq 1 $((secs * 10))); do
    [ -n "$(ip netns exec "$ns" ss -Hltn "sport = :${hp##*:}")" ] && return 0
    sleep 0.1
  done
  log "nothing listens on $hp in $ns after ${secs}s"
  return 1
}

make_content() {
  [ -f "$WWW_DIR/page/index.html" ] || { mkdir -p "$WWW_DIR"; $PYTHON "$PERF_DIR/scripts/content.py" "$WWW_DIR" >"$STATE_DIR/content.csv"; }
}

# Settings every nginx here shares. sendfile and tcp_nodelay on; tcp_nopush off, because with it
# a small cache hit can sit ~40 ms waiting for a cork to lift. Logs off: they cost the same
# everywhere and say nothing the load generator does not.
nginx_common() {
  local dir=$1
  cat <<CONF
worker_processes 2;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 100000;
  client_body_temp_path $dir/client_temp;
  proxy_temp_path $dir/proxy_temp;
  fastcgi_temp_path $dir/fastcgi_temp;
  uwsgi_temp_path $dir/uwsgi_temp;
  scgi_temp_path $dir/scgi_temp;
  types { text/html html; application/octet-stream bin; }
  default_type application/octet-stream;
CONF
}

# The origin: static files. The page's objects and the cache-hit object are cacheable for an hour;
# the HTML and the bulk file are not cacheable (a shop's page is personal; bulk is a download).
origin_conf() {  # origin_conf DIR LISTEN...
  local dir=$1
  shift
  nginx_common "$dir"
  echo "  server {"
  local l
  for l in "$@"; do echo "    listen $l reuseport backlog=4096;"; done
  cat <<CONF
    root $WWW_DIR;
    location = /status { stub_status; allow 127.0.0.1; deny all; }
    location = /page/index.html { add_header Cache-Control "no-store"; }
    location /page/ { add_header Cache-Control "public, max-age=3600"; }
    location /hit/ { add_header Cache-Control "public, max-age=3600"; }
    location /bulk/ { add_header Cache-Control "no-store"; }
    # The 1 KiB object again, not cacheable: every request crosses the whole chain (miss path).
    location /miss/ { alias $WWW_DIR/hit/; add_header Cache-Control "no-store"; }
  }
}
CONF
}

# The point-of-presence proxy: keep-alive connections to the origin (reused across clients, as
# Braid's one link is), buffering on (so a slow client never holds the upstream), and a cache
# that honours the origin's Cache-Control.
pop_conf() {  # pop_conf DIR UPSTREAM NOCACHE_LISTEN CACHE_LISTEN
  local dir=$1 upstream=$2 plain=$3 cached=$4
  nginx_common "$dir"
  cat <<CONF
  upstream origin { server $upstream; keepalive 128; keepalive_requests 100000; keepalive_timeout 300s; }
  proxy_cache_path $dir/cache levels=1:2 keys_zone=pop:64m max_size=2g inactive=1h use_temp_path=off;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  proxy_buffering on;
  proxy_buffers 64 16k;
  proxy_max_temp_file_size 0;
  server {
    listen $plain reuseport backlog=4096;
    location / { proxy_pass http://origin; }
  }
  server {
    listen $cached reuseport backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_cache pop;
      proxy_cache_lock on;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
CONF
}

nginx_start() {  # nginx_start NAME NS CONF_FUNCTION ARGS...
  local name=$1 ns=$2 fn=$3
  shift 3
  local dir="$STATE_DIR/nginx-$name"
  mkdir -p "$dir"
  "$fn" "$dir" "$@" >"$dir/nginx.conf"
  ip netns exec "$ns" nginx -t -q -c "$dir/nginx.conf" -e "$dir/error.log" || die "nginx $name: bad configuration"
  svc_start "nginx-$name" "$ns" nginx -c "$dir/nginx.conf" -e "$dir/error.log" -g "daemon off;"
}

# The Braid configuration for the topology (or for loopback inside one namespace). The front-end's
# cache is on, for the site and the node, as nginx's proxy_cache is: it keeps what the origin marks
# cacheable (the page's objects, the cache-hit object) and passes the rest (no-store) through.
braid_conf() {  # braid_conf FILE FE_LISTEN FE_PUBLIC FE_ADMIN BE_LISTEN BE_ADMIN ORIGIN_URL CARRIER
  cat >"$1" <<YAML
# Generated by perf/scripts/systems.sh for one benchmark run.
sites:
  - name: bench
    hostnames: [www.bench.example]
    origins:
      - url: $7
        maxInFlight: 512
    cache:
      enabled: true
frontEnds:
  - name: fe-pop
    listen: $2
    publicAddress: $3
    admin: $4
    sites: [bench]
    backEnds: [be-origin]
    cache:
      enabled: true
backEnds:
  - name: be-origin
    listen: $5
    admin: $6
    sites: [bench]
# Two classes, as a shop would set them: signed-in buyers (cookie tier=gold) before everyone else,
# four to one when both have data waiting (per-class shares). Page loads carry no cookie: bronze.
clientClasses:
  - name: gold
    ring: 0
    weight: 4
    rules:
      - cookie: tier=gold
  - name: bronze
    ring: 2
    weight: 1
tmp:
  carrier: $8
  blenderPolicy: per-class
YAML
}

config_check() {  # config_check FILE: reads and validates it as every node will
  java -cp "$BRAID_JAR:$PERF_DIR/target/classes" dev.braid.perf.harness.ConfigCheck "$1"
}

# braid_start NS_FE NS_BE CONF TAG: back-end, then front-end (the caller waits until it serves).
braid_start() {
  local ns_fe=$1 ns_be=$2 conf=$3 tag=$4
  [ -f "$BRAID_JAR" ] || die "$BRAID_JAR is missing: build it first (mvn -B -DskipTests package)"
  # shellcheck disable=SC2086
  svc_start "braid-be-$tag" "$ns_be" java $BRAID_JAVA_OPTS -jar "$BRAID_JAR" back-end --config "$conf" --name be-origin
  # shellcheck disable=SC2086
  svc_start "braid-fe-$tag" "$ns_fe" java $BRAID_JAVA_OPTS -jar "$BRAID_JAR" front-end --config "$conf" --name fe-pop
}

# braid_check_carrier NS ADMIN CARRIER: the front-end's link runs over the carrier asked for. A UDP
# link that cannot complete its handshake falls back to TCP by design; the run notes it, so that a
# "braid-udp" row is never TCP in disguise.
# A UDP handshake that loses a packet at 3% loss and 80 ms can miss the 2 s fallback deadline; the
# front-end then probes UDP again after 1 s and moves the link over, so the check waits up to 15 s
# for the carrier to settle before it notes anything.
braid_check_carrier() {
  local ns=$1 admin=$2 want=$3 got i
  for i in $(seq 1 30); do
    got=$(in_ns "$ns" curl -s -m 5 "http://$admin/metrics" | sed -n 's/^braid_link_info{.*carrier="\([a-z]*\)".*/\1/p' | sort -u | tr '\n' ' ')
    got=${got% }
    [ "$got" = "$want" ] && return 0
    sleep 0.5
  done
  note "braid-$want (${CURRENT_RUN:-}): the front-end's link ran over '${got:-nothing}', not $want, 15 s after it served"
}
