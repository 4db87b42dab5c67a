#!/usr/bin/env bash
# build-image.sh — build the Docker tier's test image locally, once.
#
#   tests/lib/build-image.sh [IMAGE]      (default dsnflip-test:latest)
#
# There is no image registry here (never `docker pull`): the image is a
# Debian bookworm rootfs made with `debootstrap --variant=minbase`, with
# python3, psycopg2 and the PostgreSQL client, imported with `docker import`.
# The packages come from the Debian mirror this machine's apt is configured
# with (/etc/apt/sources.list and sources.list.d/*), no other network.
# Cached: does nothing when the image exists.  About a minute otherwise.
set -eu
IMAGE=${1:-dsnflip-test:latest}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	exit 0
fi
command -v debootstrap >/dev/null || { echo "build-image: debootstrap is not installed" >&2; exit 1; }

# The mirror apt uses for Debian's main archive (deb822 .sources or one-line .list).
mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk '
			/^[[:space:]]*$/ { if (u != "" && s ~ /(^| )bookworm( |$)/) { print u; exit } u = ""; s = "" }
			/^URIs:/ { u = $2 }
			/^Suites:/ { $1 = ""; s = $0 " " }
			END { if (u != "" && s ~ /(^| )bookworm( |$)/) print u }' "$f" | head -1)
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f" | head -1)
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}

MIRROR=$(mirror)
root=$(mktemp -d "${TMPDIR:-/tmp}/dsnflip-image.XXXXXX")
cleanup() { rm -rf "$root"; }
trap cleanup EXIT
echo "build-image: debootstrap bookworm from $MIRROR (about a minute)" >&2
if ! debootstrap --variant=minbase --include=python3,python3-psycopg2,postgresql-client \
	bookworm "$root/rootfs" "$MIRROR" >"$root/debootstrap.log" 2>&1; then
	echo "build-image: debootstrap failed:" >&2
	tail -20 "$root/debootstrap.log" >&2
	[ -f "$root/rootfs/debootstrap/debootstrap.log" ] && tail -20 "$root/rootfs/debootstrap/debootstrap.log" >&2
	exit 1
fi
# Smaller image: no apt lists, docs or caches.
rm -rf "$root/rootfs/var/cache/apt/archives/"*.deb "$root/rootfs/var/lib/apt/lists/"* \
	"$root/rootfs/usr/share/doc" "$root/rootfs/usr/share/man" "$root/rootfs/usr/share/locale"
tar -C "$root/rootfs" -c . | docker import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-c 'ENV PYTHONUNBUFFERED=1' \
	-c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "build-image: $IMAGE built" >&2
