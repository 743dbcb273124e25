#!/usr/bin/env bash
# get-hold-oauth.sh prints the URL the hold's owner opens to approve the
# hold's registration in their PDS. While registration is pending the hold
# logs "Visit this URL to authorize: <url>"; once it has registered it logs a
# line containing "registered". Installed as /opt/atcr/get-hold-oauth.sh.
#   HOLD_CONTAINER (default atcr-hold) names the container.
set -euo pipefail
container="${HOLD_CONTAINER:-atcr-hold}"

if ! logs=$(docker logs "$container" 2>&1); then
	echo "cannot read the logs of $container (is it running? systemctl status atcr; docker ps)" >&2
	exit 1
fi

# The newest URL and the newest "registered" line, by line number. A JSON log
# line escapes & as \u0026, so that is undone.
read -r url_line url reg_line < <(awk '
	/Visit this URL to authorize: / {
		u = $0
		sub(/.*Visit this URL to authorize: /, "", u)
		sub(/[[:space:]"].*/, "", u)
		gsub(/\\u0026/, "\\&", u)
		ul = NR; url = u
	}
	/registered/ { rl = NR }
	END { printf "%d %s %d\n", ul, (url == "" ? "-" : url), rl }
' <<<"$logs")

if ((reg_line > 0 && reg_line > url_line)); then
	echo "the hold has already registered (its log says so, line $reg_line of docker logs $container):"
	sed -n "${reg_line}p" <<<"$logs"
	exit 0
fi
if ((url_line == 0)); then
	echo "no registration URL in the logs of $container: the hold has not asked for one (is HOLD_OWNER set in /opt/atcr/.env?)" >&2
	exit 1
fi
echo "Open this URL as the hold's owner to approve the hold's registration:"
echo "$url"
