#!/usr/bin/env bash
# bench-peers.sh: builds or finds every load generator bench/loadbench
# compares tailgate with, at pinned versions, into bin/tools (git-ignored):
#
#   - the Go tools (fortio, hey, vegeta, ghz): go install pkg@version;
#   - wrk2, from its source repository at a pinned commit, built outside
#     this repository (in $XDG_CACHE_HOME/tailgate, or ~/.cache/tailgate) and
#     copied to bin/tools/wrk2; never committed. WRK2_SRC, when set, is a
#     git repository of wrk2 (a clone or mirror) to take the commit from
#     instead of cloning https://github.com/giltene/wrk2;
#   - wrk, Debian's package (apt-get install wrk, when root).
#
# Building wrk2 needs gcc, make and the OpenSSL and zlib headers
# (libssl-dev, zlib1g-dev); as root with apt-get they are installed.
# A tool already in bin/tools is kept. Run from the repository root.
set -euo pipefail

GO=${GO:-go}
TOOLS=${TOOLS:-$PWD/bin/tools}
WRK2_COMMIT=44a94c17d8e6a0bac8559b53da76848e430cb7a7 # giltene/wrk2 master, 2019-09-23 ("4.0.0" in its -v)
GO_TOOLS=(fortio.org/fortio@v1.68.2 github.com/rakyll/hey@v0.1.5
	github.com/tsenart/vegeta/v12@v12.13.0 github.com/bojand/ghz/cmd/ghz@v0.120.0)

mkdir -p "$TOOLS"
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

for p in "${GO_TOOLS[@]}"; do
	name=${p%@*}
	name=${name##*/}
	[ "$name" = v12 ] && name=vegeta
	if [ -x "$TOOLS/$name" ]; then
		echo "bench-peers: $name: $TOOLS/$name"
		continue
	fi
	echo "bench-peers: GOBIN=$TOOLS $GO install $p"
	GOBIN=$TOOLS $GO install "$p"
done

if [ -x "$TOOLS/wrk2" ]; then
	echo "bench-peers: wrk2: $TOOLS/wrk2"
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/tailgate
	src=$cache/wrk2-$WRK2_COMMIT
	if [ ! -x "$src/wrk" ]; then
		need=()
		command -v gcc >/dev/null || need+=(gcc)
		command -v make >/dev/null || need+=(make)
		[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
		[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
		if [ ${#need[@]} -gt 0 ]; then
			if can_apt; then
				apt-get install -y "${need[@]}"
			else
				echo "bench-peers: wrk2 needs ${need[*]}: install them (apt-get install ${need[*]})" >&2
				exit 1
			fi
		fi
		rm -rf "$src"
		mkdir -p "$src"
		repo=${WRK2_SRC:-}
		if [ -z "$repo" ]; then
			repo=$cache/wrk2.git
			[ -d "$repo" ] || git clone --bare https://github.com/giltene/wrk2 "$repo"
		fi
		echo "bench-peers: building wrk2 $WRK2_COMMIT from $repo in $src"
		git --git-dir="$repo" archive "$WRK2_COMMIT" | tar -x -C "$src"
		make -C "$src" -j"$(nproc)" >"$src/build.log" 2>&1 || {
			tail -20 "$src/build.log" >&2
			exit 1
		}
	fi
	cp "$src/wrk" "$TOOLS/wrk2"
	echo "giltene/wrk2@${WRK2_COMMIT:0:7}" >"$TOOLS/wrk2.version" # wrk2 -v says "wrk 4.0.0"
	echo "bench-peers: wrk2: $TOOLS/wrk2 (giltene/wrk2 $WRK2_COMMIT)"
fi

if command -v wrk >/dev/null; then
	echo "bench-peers: wrk: $(command -v wrk)"
elif can_apt; then
	apt-get install -y wrk
else
	echo "bench-peers: wrk not found: apt-get install wrk (the wrk rows are left out)" >&2
fi
