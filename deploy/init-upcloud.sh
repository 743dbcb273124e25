#!/usr/bin/env bash
# ATCR on a fresh Rocky Linux 9 server (UpCloud): paste this file as the
# server's user data, or run it as root on the server. It
#   - updates the system (dnf);
#   - installs Docker CE and the compose plugin from the docker-ce repository;
#   - lets firewalld allow HTTP and HTTPS, and SSH, and nothing else;
#   - clones ATCR_REPO (at ATCR_REF when set) into /opt/atcr;
#   - creates /opt/atcr/.env from deploy/.env.example when it does not exist;
#   - installs the systemd unit `atcr` (docker compose up -d / down) and
#     enables it, and the helpers /opt/atcr/get-hold-oauth.sh, logs.sh and
#     rebuild.sh from deploy/scripts;
#   - ends with the line "ATCR init complete: …" (cloud-init writes it to
#     /var/log/cloud-init-output.log).
# Running it again changes nothing that is already in place: no second
# clone, no rewritten .env, no duplicate unit or firewall rule.
#
# ATCR_INIT_ROOT (tests only) prefixes every path the script writes.
set -euo pipefail

# ---- Set these two when pasting this file as user data (or export them). ----
# The repository to clone into /opt/atcr, e.g. https://github.com/OWNER/atcr.git
ATCR_REPO="${ATCR_REPO:-}"
# A branch, tag or commit to check out (empty: the default branch).
ATCR_REF="${ATCR_REF:-}"
# ------------------------------------------------------------------------------
ROOT="${ATCR_INIT_ROOT:-}"
ATCR_DIR="$ROOT/opt/atcr"
UNIT_DIR="$ROOT/etc/systemd/system"
REPOS_DIR="$ROOT/etc/yum.repos.d"
DOCKER_REPO_URL="https://download.docker.com/linux/centos/docker-ce.repo"
HELPERS=(get-hold-oauth.sh logs.sh rebuild.sh)

log() { printf '[atcr-init] %s\n' "$*"; }
die() {
	printf '[atcr-init] ERROR: %s\n' "$*" >&2
	exit 1
}

if [[ -z "$ROOT" && $EUID -ne 0 ]]; then
	die "run as root"
fi

# changes lists what this run changed, for the completion line.
changes=()
changed() {
	changes+=("$1")
	log "changed: $1"
}

update_system() {
	log "dnf: updating the system"
	dnf -y -q upgrade
}

install_docker() {
	if [[ ! -f "$REPOS_DIR/docker-ce.repo" ]]; then
		dnf -y -q install dnf-plugins-core
		dnf config-manager --add-repo "$DOCKER_REPO_URL"
		changed "docker-ce repository"
	fi
	if ! docker compose version >/dev/null 2>&1; then
		dnf -y -q install docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
		changed "Docker CE and the compose plugin"
	fi
	enable_now docker
}

# enable_now UNIT enables and starts UNIT unless it already is.
enable_now() {
	if ! systemctl is-enabled --quiet "$1"; then
		systemctl enable "$1"
		changed "$1 enabled"
	fi
	if ! systemctl is-active --quiet "$1"; then
		systemctl start "$1"
		changed "$1 started"
	fi
}

# open_firewall leaves the default zone with ssh, http and https, no other
# service and no port, and reloads firewalld only when it changed something.
open_firewall() {
	if ! command -v firewall-cmd >/dev/null; then
		dnf -y -q install firewalld
		changed "firewalld installed"
	fi
	enable_now firewalld
	local svc port reload=0
	for svc in ssh http https; do
		if ! firewall-cmd --permanent --query-service="$svc" >/dev/null; then
			firewall-cmd --permanent --add-service="$svc" >/dev/null
			changed "firewall: $svc allowed"
			reload=1
		fi
	done
	for svc in $(firewall-cmd --permanent --list-services); do
		case "$svc" in
		ssh | http | https) ;;
		*)
			firewall-cmd --permanent --remove-service="$svc" >/dev/null
			changed "firewall: $svc removed"
			reload=1
			;;
		esac
	done
	for port in $(firewall-cmd --permanent --list-ports); do
		firewall-cmd --permanent --remove-port="$port" >/dev/null
		changed "firewall: port $port removed"
		reload=1
	done
	if ((reload)); then
		firewall-cmd --reload >/dev/null
	fi
}

clone_repo() {
	if [[ -z "$ATCR_REPO" ]]; then
		log "ATCR_REPO is not set: not cloning (put the repository in $ATCR_DIR and run this again)"
		return 0
	fi
	if [[ -e "$ATCR_DIR/.git" ]]; then
		log "$ATCR_DIR is already a clone: leaving it as it is (rebuild.sh updates it)"
		return 0
	fi
	mkdir -p "$ATCR_DIR"
	# Into a fresh directory: /opt/atcr may already hold .env or the helpers.
	local tmp="$ATCR_DIR/.clone.tmp"
	rm -rf "$tmp"
	git clone --quiet "$ATCR_REPO" "$tmp"
	if [[ -n "$ATCR_REF" ]]; then
		git -C "$tmp" checkout --quiet "$ATCR_REF"
	fi
	(shopt -s dotglob && mv -n "$tmp"/* "$ATCR_DIR"/)
	rm -rf "$tmp"
	changed "cloned $ATCR_REPO${ATCR_REF:+ at $ATCR_REF} into /opt/atcr"
}

create_env() {
	local example="$ATCR_DIR/deploy/.env.example"
	if [[ -e "$ATCR_DIR/.env" ]]; then
		log "/opt/atcr/.env exists: kept as it is"
		return 0
	fi
	if [[ ! -f "$example" ]]; then
		log "no $example yet: /opt/atcr/.env not created"
		return 0
	fi
	install -m 0600 "$example" "$ATCR_DIR/.env"
	changed "/opt/atcr/.env created from deploy/.env.example (edit it)"
}

# install_file SRC DEST MODE copies SRC to DEST when DEST differs; it reports
# whether it wrote (status 0) or found DEST current (status 1).
install_file() {
	if [[ -f "$2" ]] && cmp -s "$1" "$2"; then
		if [[ "$(stat -c %a "$2")" != "${3#0}" ]]; then
			chmod "$3" "$2"
			return 0
		fi
		return 1
	fi
	mkdir -p "$(dirname "$2")"
	install -m "$3" "$1" "$2.tmp"
	mv -f "$2.tmp" "$2"
}

install_unit() {
	local unit
	unit=$(mktemp)
	# The same text as deploy/systemd/atcr.service (a test compares them): the
	# unit is installed even before the repository is cloned.
	cat >"$unit" <<'UNIT'
# atcr: the Docker Compose stack (atcr-caddy, atcr-appview, atcr-hold) of the
# UpCloud / Rocky Linux deployment. deploy/init-upcloud.sh installs it as
# /etc/systemd/system/atcr.service; configuration is /opt/atcr/.env.
#   systemctl start atcr      # docker compose up -d
#   systemctl stop atcr       # docker compose down (volumes are kept)
# The containers restart on their own (compose restart policies); this unit
# brings the project up at boot and retries when `up` itself fails.
[Unit]
Description=ATCR (Caddy, AppView, hold) under Docker Compose
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=/opt/atcr
ExecStart=/usr/bin/docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr up -d
ExecStop=/usr/bin/docker compose -f /opt/atcr/deploy/docker-compose.prod.yml --env-file /opt/atcr/.env -p atcr down
# Building or pulling images on the first start can take minutes.
TimeoutStartSec=15min
Restart=on-failure
RestartSec=10s

[Install]
WantedBy=multi-user.target
UNIT
	if install_file "$unit" "$UNIT_DIR/atcr.service" 0644; then
		systemctl daemon-reload
		changed "systemd unit atcr installed"
	fi
	rm -f "$unit"
	if ! systemctl is-enabled --quiet atcr; then
		systemctl enable atcr
		changed "atcr enabled (starts at boot)"
	fi
}

install_helpers() {
	local name src="$ATCR_DIR/deploy/scripts"
	if [[ ! -d "$src" ]]; then
		log "no $src yet: helper scripts not installed"
		return 0
	fi
	for name in "${HELPERS[@]}"; do
		[[ -f "$src/$name" ]] || die "$src/$name is missing from the repository"
		if install_file "$src/$name" "$ATCR_DIR/$name" 0755; then
			changed "/opt/atcr/$name installed"
		fi
	done
}

main() {
	log "start"
	update_system
	install_docker
	open_firewall
	clone_repo
	create_env
	install_unit
	install_helpers
	local summary="nothing changed"
	if ((${#changes[@]})); then
		summary="${#changes[@]} change(s)"
	fi
	local next="edit /opt/atcr/.env, then: systemctl start atcr"
	[[ -f "$ATCR_DIR/.env" ]] || next="put the repository in /opt/atcr (ATCR_REPO) and run this script again"
	echo "ATCR init complete: $summary; firewall allows ssh, http, https; next: $next"
}

main "$@"
