#!/usr/bin/env bash
# mkcert.sh DIR [NAME...] — a throw-away certificate authority and a server
# certificate it signed, for tests and for trying TLS on one machine:
#   DIR/ca.pem              the CA certificate (give it to clients: chat --ca-file)
#   DIR/server.pem, .key    the server's certificate and key (chatd --tls-cert/--tls-key)
# NAMEs are the server's DNS names or IP addresses (default: 127.0.0.1 ::1
# localhost). Run it again with the same DIR to get a new server
# certificate from the same CA (a rotation). ECDSA P-256, valid 30 days.
# Not for production: use your real CA (docs/OPERATIONS.md, "TLS").
set -euo pipefail
dir=${1:?usage: mkcert.sh DIR [NAME...]}
shift
[ $# -gt 0 ] || set -- 127.0.0.1 ::1 localhost
mkdir -p "$dir"
umask 077
san=""
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san="$san,IP:$n"; else san="$san,DNS:$n"; fi
done
san=${san#,}
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 -subj "/CN=chatd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
serial=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout "$dir/server.key.new" -out "$dir/server.csr" -subj "/CN=$1" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
  -set_serial "0x$serial" -days 30 -extfile "$dir/server.ext" -out "$dir/server.pem.new" 2>/dev/null
# Replace both at once for a server that re-reads them on SIGHUP.
mv "$dir/server.key.new" "$dir/server.key"
mv "$dir/server.pem.new" "$dir/server.pem"
rm -f "$dir/server.csr" "$dir/server.ext"
chmod 644 "$dir/ca.pem" "$dir/server.pem"
