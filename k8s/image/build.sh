#!/usr/bin/env bash
# Paydeck's container image, built without a container daemon or a registry: an OCI image
# layout (target/image/oci, tagged with the release's version) made by umoci from
#   /app/paydeck      the production binary: the release build without the simulated cluster
#   /app/site         the built site (WebAssembly, JavaScript, CSS, ECharts), precompressed
#   the C library, its loader, libm and libgcc_s, copied from this machine's Debian packages
#   (with their copyright files), CA certificates, /etc/passwd and /etc/group naming the
#   non-root user 65532, and /var/lib/paydeck owned by it.
# Nothing else: no shell, no package manager. Prints the image's size.
#
# Run by `make image` after `make build` (the site and the release dependencies).
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
out=target/image
layout="$out/oci"
tag="$version"
uid=65532

command -v umoci >/dev/null || { echo "umoci is needed (Debian: apt-get install umoci)"; exit 1; }
test -f target/site/.built || { echo "the site is not built: make build first"; exit 1; }

# The production binary. Built beside the default one (the same target directory: only the
# server crate itself differs), copied away, then the default binary put back in place for
# `make run` and the tests.
cargo build --release --locked -p paydeck --no-default-features
mkdir -p "$out"
cp target/release/paydeck "$out/paydeck"
cargo build --release --locked -p paydeck
if timeout 20 "$out/paydeck" --cluster sim --listen 127.0.0.1:0 --db "$out/refused.db" >/dev/null 2>&1; then
  echo "the production binary must refuse --cluster sim"; exit 1
fi

rm -rf "$layout" "$out/bundle"
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$out/bundle"
root="$out/bundle/rootfs"

install -d -m 0755 "$root/app" "$root/etc/ssl/certs" "$root/lib/x86_64-linux-gnu" "$root/lib64" \
  "$root/usr/share/doc" "$root/var/lib"
# Without its symbol table (a panic's message keeps its file and line; a backtrace loses its
# names): the unstripped binary stays in target/image for debugging.
strip --strip-all -o "$root/app/paydeck" "$out/paydeck"
chmod 0755 "$root/app/paydeck"
cp -r target/site "$root/app/site"
rm -f "$root/app/site/.built"

# What the binary links against, as its loader finds it here (the files, not the symlinks).
for lib in $(ldd "$out/paydeck" | grep -o '/[^ ]*'); do
  case "$lib" in
    /lib64/*) install -m 0755 "$(readlink -f "$lib")" "$root/lib64/$(basename "$lib")" ;;
    *) install -m 0755 "$(readlink -f "$lib")" "$root/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
  esac
  package=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1 || true)
  if [ -n "$package" ] && [ -f "/usr/share/doc/$package/copyright" ]; then
    install -D -m 0644 "/usr/share/doc/$package/copyright" "$root/usr/share/doc/$package/copyright"
  fi
done
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' "$uid" "$uid" > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' "$uid" > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
install -d -m 0700 -o "$uid" -g "$uid" "$root/var/lib/paydeck"
install -d -m 1777 "$root/tmp"
install -D -m 0644 LICENSE "$root/usr/share/doc/paydeck/LICENSE"

umoci repack --image "$layout:$tag" "$out/bundle"
umoci config --image "$layout:$tag" \
  --author "Paydeck" \
  --config.user "$uid:$uid" \
  --config.entrypoint /app/paydeck \
  --config.workingdir /app \
  --config.exposedports 8080/tcp \
  --config.env PAYDECK_LISTEN=0.0.0.0:8080 \
  --config.env PAYDECK_DB=/var/lib/paydeck/paydeck.db \
  --config.env PAYDECK_LOG=info \
  --config.label "org.opencontainers.image.title=paydeck" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.licenses=Apache-2.0"
umoci gc --layout "$layout"
binary_size=$(stat -c %s "$out/bundle/rootfs/app/paydeck")
rm -rf "$out/bundle"

# The size: the compressed layers a registry stores, and the files they unpack to.
manifest=$(python3 - "$layout" "$tag" <<'PY'
import json, sys
layout, tag = sys.argv[1:]
index = json.load(open(f"{layout}/index.json"))
entry = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
digest = entry["digest"].split(":")[1]
manifest = json.load(open(f"{layout}/blobs/sha256/{digest}"))
print(sum(layer["size"] for layer in manifest["layers"]), entry["digest"])
PY
)
compressed=${manifest%% *}
echo "== image $layout:$tag (${manifest##* })"
echo "== image size: $((compressed / 1024 / 1024)) MiB compressed ($compressed bytes); the binary $((binary_size / 1024 / 1024)) MiB stripped, site $(du -sm target/site | cut -f1) MiB"
