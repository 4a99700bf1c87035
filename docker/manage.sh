#!/usr/bin/env bash
# Manages the promemu monitoring stack (Pushgateway, Prometheus, Grafana), as
# the original's manage.sh did. Ports and credentials: .env.
#
#   ./manage.sh start [--with-emulator]   start the stack (and promemu in a container)
#   ./manage.sh stop                      stop it, keeping its data
#   ./manage.sh status                    what runs, and where
#   ./manage.sh logs [SERVICE]            follow the logs
#   ./manage.sh clean                     stop it and delete its data volumes
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "manage.sh: needs Docker with 'docker compose' (or docker-compose)" >&2
    exit 1
fi

# shellcheck disable=SC1091
source .env

usage() {
    sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

case "${1:-}" in
start)
    if [ "${2:-}" = "--with-emulator" ]; then
        "${compose[@]}" --profile emulator up -d --build
    else
        "${compose[@]}" up -d
    fi
    echo "Pushgateway: http://localhost:${PUSHGATEWAY_PORT}"
    echo "Prometheus:  http://localhost:${PROMETHEUS_PORT}"
    echo "Grafana:     http://localhost:${GRAFANA_PORT} (${GRAFANA_ADMIN_USER}/${GRAFANA_ADMIN_PASSWORD})"
    if [ "${2:-}" != "--with-emulator" ]; then
        echo "Now run: promemu --config ${PROMEMU_CONFIG} --pushgateway-url http://localhost:${PUSHGATEWAY_PORT} --listen 0.0.0.0:${PROMEMU_PORT}"
    fi
    ;;
stop) "${compose[@]}" --profile emulator stop ;;
status) "${compose[@]}" --profile emulator ps ;;
logs)
    shift
    "${compose[@]}" --profile emulator logs -f "$@"
    ;;
clean) "${compose[@]}" --profile emulator down --volumes --remove-orphans ;;
*) usage ;;
esac
