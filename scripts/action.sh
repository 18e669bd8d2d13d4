#!/usr/bin/env bash
# The step of the tailgate GitHub Action (action.yml): get tailgate, run it
# with the inputs, compare with a baseline result when one is given, append
# the Markdown verdict to the step summary, set the outputs, and exit as the
# verdict says: 0 PASS, 1 FAIL (an objective or a --fail-on rule breached),
# 3 INVALID (the measurement cannot be trusted), 2 bad inputs, 4 other
# errors. It uploads nothing.
#
# Inputs arrive as environment variables, INPUT_<NAME> with the name in
# capitals and - as _ (action.yml passes each). GitHub sets GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP, RUNNER_OS, RUNNER_ARCH and
# GITHUB_ACTION_PATH; ACTION_REPOSITORY and ACTION_REF name the Action's
# own repository and ref. TAILGATE_DOWNLOAD_BASE replaces the release
# download URL up to the file name (for tests and mirrors).
set -euo pipefail

: "${GITHUB_OUTPUT:?not set: run as a GitHub Actions step}"
: "${GITHUB_STEP_SUMMARY:?not set: run as a GitHub Actions step}"
tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tailgate-action
mkdir -p "$tmp"

# Annotations go to fd 3, the step's standard output, also from inside
# $(…), whose output is captured.
exec 3>&1

die() { # die CODE MESSAGE: an annotation, a line in the summary, the exit code
	echo "::error title=tailgate::$2" >&3
	printf '## ⚠️ tailgate: %s\n' "$2" >>"$GITHUB_STEP_SUMMARY"
	{
		echo "verdict=ERROR"
		echo "exit-code=$1"
	} >>"$GITHUB_OUTPUT"
	exit "$1"
}

# platform prints the release's name for this machine: linux-amd64, ….
platform() {
	local os arch
	case "${RUNNER_OS:-$(uname -s)}" in
	Linux) os=linux ;;
	macOS | Darwin) os=darwin ;;
	Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
	*) return 1 ;;
	esac
	case "${RUNNER_ARCH:-$(uname -m)}" in
	X64 | x86_64 | amd64) arch=amd64 ;;
	ARM64 | aarch64 | arm64) arch=arm64 ;;
	*) return 1 ;;
	esac
	echo "$os-$arch"
}

# sha256 FILE prints FILE's SHA-256 in hex.
sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

# download VERSION fetches the release binary and checks it against the
# release's SHA256SUMS; prints its path.
download() {
	local version=$1 plat name base want got
	plat=$(platform) || die 2 "no tailgate release for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}: set the tailgate input to a binary"
	name=tailgate-$plat
	[ "${plat%%-*}" = windows ] && name=$name.exe
	base=${TAILGATE_DOWNLOAD_BASE:-https://github.com/${ACTION_REPOSITORY:?the Action does not know its repository: set the version or tailgate input}/releases/download/$version}
	curl -fsSL --retry 3 -o "$tmp/$name" "$base/$name" >&2 || die 4 "cannot download $base/$name"
	curl -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$base/SHA256SUMS" >&2 || die 4 "cannot download $base/SHA256SUMS"
	want=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$tmp/SHA256SUMS")
	got=$(sha256 "$tmp/$name")
	[ -n "$want" ] || die 4 "SHA256SUMS of $version does not list $name"
	[ "$want" = "$got" ] || die 4 "$name of $version does not match SHA256SUMS (got $got, want $want)"
	chmod +x "$tmp/$name"
	echo "$tmp/$name"
}

# tailgate_bin prints the path of the tailgate to run: the tailgate input,
# else the release of the version input (or of the Action's own ref when it
# is a version tag), else one built from the Action's checkout with Go.
tailgate_bin() {
	if [ -n "${INPUT_TAILGATE:-}" ]; then
		[ -x "$INPUT_TAILGATE" ] || die 2 "tailgate input: $INPUT_TAILGATE is not an executable"
		echo "$INPUT_TAILGATE"
		return
	fi
	local version=${INPUT_VERSION:-}
	if [ -z "$version" ] && [[ ${ACTION_REF:-} =~ ^v[0-9] ]]; then
		version=$ACTION_REF
	fi
	if [ -n "$version" ] && [ "$version" != source ]; then
		download "$version"
		return
	fi
	command -v go >/dev/null || die 2 "no tailgate release to use (the Action's ref ${ACTION_REF:-?} is not a version tag) and no Go to build one: set the version input, or add actions/setup-go before this step"
	(cd "${GITHUB_ACTION_PATH:?}" && go build -o "$tmp/tailgate" ./cmd/tailgate) >&2 || die 4 "building tailgate from ${GITHUB_ACTION_PATH} failed"
	echo "$tmp/tailgate"
}

# lines NAME VALUE: each non-empty line of VALUE, trimmed, as NAME VALUE
# pairs (NUL-separated), for a repeatable flag.
lines() {
	local flag=$1 line
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		[ -n "$line" ] && printf '%s\0%s\0' "$flag" "$line"
	done <<<"$2"
}

verdict_of() {
	case $1 in
	0) echo PASS ;;
	1) echo FAIL ;;
	3) echo INVALID ;;
	130) echo INTERRUPTED ;;
	*) echo ERROR ;;
	esac
}

main() {
	[ -n "${INPUT_URL:-}${INPUT_PROFILE:-}" ] || die 2 "give the url input, the profile input, or both"
	local tg result summary=$tmp/summary.md diff=$tmp/compare.md
	tg=$(tailgate_bin)
	result=${INPUT_RESULT:-tailgate-result.json}
	rm -f "$summary" "$diff"

	local -a args=(run --quiet --out "$result" --markdown "$summary")
	[ -n "${INPUT_URL:-}" ] && args+=("$INPUT_URL")
	[ -n "${INPUT_PROFILE:-}" ] && args+=(--profile "$INPUT_PROFILE")
	[ -n "${INPUT_RATE:-}" ] && args+=(--rate "$INPUT_RATE")
	[ -n "${INPUT_DURATION:-}" ] && args+=(--duration "$INPUT_DURATION")
	[ -n "${INPUT_SLO_FILE:-}" ] && args+=(--slo-file "$INPUT_SLO_FILE")
	# The commit under test labels the run for tailgate history.
	[ -n "${GITHUB_SHA:-}" ] && args+=(--build "$GITHUB_SHA")
	local -a more
	mapfile -d '' more < <(lines --slo "${INPUT_OBJECTIVES:-}")
	args+=("${more[@]}")
	# More flags for tailgate run, split as a shell splits words (quotes
	# group), never evaluated.
	if [ -n "${INPUT_ARGS:-}" ]; then
		printf '%s\n' "$INPUT_ARGS" | xargs printf '%s\0' >"$tmp/args" || die 2 "args input: unbalanced quotes"
		mapfile -d '' more <"$tmp/args"
		args+=("${more[@]}")
	fi

	echo "tailgate ${args[*]}"
	local code=0
	"$tg" "${args[@]}" || code=$?

	local ccode=0
	if [ -n "${INPUT_BASELINE:-}" ] && [ -f "$result" ] && [ "$code" -ne 2 ] && [ "$code" -ne 4 ]; then
		local -a cargs=(compare "$INPUT_BASELINE" "$result" --markdown "$diff")
		mapfile -d '' more < <(lines --fail-on "${INPUT_FAIL_ON:-}")
		cargs+=("${more[@]}")
		echo "tailgate ${cargs[*]}"
		"$tg" "${cargs[@]}" || ccode=$?
	fi

	if [ -f "$summary" ]; then
		cat "$summary" >>"$GITHUB_STEP_SUMMARY"
	else
		printf '## ⚠️ tailgate wrote no verdict (exit code %s)\n' "$code" >>"$GITHUB_STEP_SUMMARY"
	fi
	if [ -f "$diff" ]; then
		printf '\n' >>"$GITHUB_STEP_SUMMARY"
		cat "$diff" >>"$GITHUB_STEP_SUMMARY"
	fi

	# The run's verdict first; a regression against the baseline fails a
	# run that passed.
	[ "$code" -eq 0 ] && code=$ccode
	local verdict
	verdict=$(verdict_of "$code")
	{
		echo "verdict=$verdict"
		echo "exit-code=$code"
		echo "result=$result"
		echo "summary=$summary"
		echo "tailgate=$tg"
	} >>"$GITHUB_OUTPUT"
	case $verdict in
	PASS) echo "PASS: every objective met, and the run checked itself" ;;
	FAIL) echo "::error title=tailgate FAIL::an objective was not met, or the candidate is worse than the baseline (see the step summary)" ;;
	INVALID) echo "::error title=tailgate INVALID::the measurement cannot be trusted (see the step summary for what to change)" ;;
	*) echo "::error title=tailgate $verdict::tailgate exited with code $code" ;;
	esac
	exit "$code"
}

main "$@"
