#!/bin/sh
# Usage: ensure-tools.sh tool:package ... (a tool starting with '/' is a file)
# Installs missing packages with apt-get when run as root; otherwise prints the
# exact command and fails.
missing=""
for pair in "$@"; do
	tool=${pair%%:*}
	pkg=${pair#*:}
	case $tool in
	/*) [ -e "$tool" ] && continue ;;
	*) command -v "$tool" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done
[ -z "$missing" ] && exit 0
missing=${missing# }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "vigil: installing missing packages: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || { echo "vigil: apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing || {
		echo "vigil: could not install: $missing" >&2; exit 1; }
	exit 0
fi
echo "vigil: missing build tools. Install them with:" >&2
echo "    sudo apt-get install -y $missing" >&2
exit 1
