#!/usr/bin/env bash
# Makes the certificates of a local TLS cluster with openssl: a certificate authority, one
# certificate per node (peer and KV port alike) and a client certificate for clt, in DIR.
#
#   scripts/make-certs.sh DIR [N] [--host NAME_OR_IP]... [--client NAME]
#
#   DIR/ca.crt, ca.key        the authority (keep ca.key offline in production)
#   DIR/node-<i>.crt, .key    node i (0..N-1, default N=3): DNS names raftkv-node-<i> (the member
#                             identity peers check) and localhost, IP 127.0.0.1, and every --host
#   DIR/<client>.crt, .key    a client certificate, common name root unless --client NAME
#
# Keys are EC P-256, unencrypted PKCS#8 (what svr and clt read), readable by their owner only.
# Certificates are valid for 365 days; run it again into a new DIR to rotate (svr re-reads its
# files within --tls-reload-ms).
set -euo pipefail

usage() { echo "usage: $0 DIR [N] [--host NAME_OR_IP]... [--client NAME]" >&2; exit 1; }
[ $# -ge 1 ] || usage
dir="$1"; shift
nodes=3
client=root
hosts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --host) [ $# -ge 2 ] || usage; hosts+=("$2"); shift ;;
    --client) [ $# -ge 2 ] || usage; client="$2"; shift ;;
    *[!0-9]*|"") usage ;;
    *) nodes="$1" ;;
  esac
  shift
done
command -v openssl >/dev/null || { echo "$0: needs openssl (apt-get install openssl)" >&2; exit 1; }
if [ -e "$dir/ca.key" ]; then
  echo "$0: $dir/ca.key exists; not overwriting an authority (use a new DIR)" >&2
  exit 1
fi
mkdir -p "$dir"
umask 077 # the keys: owner only
days=365

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign NAME SUBJECT_CN EXTENSIONS: NAME.csr from NAME.key, signed by the CA into NAME.crt
sign() {
  local name="$1" cn="$2" ext="$3"
  openssl req -new -key "$dir/$name.key" -subj "/CN=$cn" -out "$dir/$name.csr"
  printf '%b' "$ext" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  chmod 644 "$dir/$name.crt"
}

key "$dir/ca.key"
openssl req -new -x509 -key "$dir/ca.key" -subj "/CN=raftkv-ca" -days $((days * 10)) -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$dir/ca.crt"
chmod 644 "$dir/ca.crt"

for ((i = 0; i < nodes; i++)); do
  san="DNS:raftkv-node-$i,DNS:localhost,IP:127.0.0.1"
  for h in "${hosts[@]+"${hosts[@]}"}"; do
    if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san+=",IP:$h"; else san+=",DNS:$h"; fi
  done
  key "$dir/node-$i.key"
  sign "node-$i" "raftkv-node-$i" \
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=$san\n"
done

key "$dir/$client.key"
sign "$client" "$client" \
  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
rm -f "$dir/ca.srl"

echo "made in $dir: ca.crt, node-0..$((nodes - 1)).crt/.key, $client.crt/.key"
