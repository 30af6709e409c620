#!/usr/bin/env bash
# Installs the Debian packages stallwatch's kernel-level fault tests need:
# iptables and ip6tables (drop SYNs / DNS queries with the statistic and recent matches; IPv6 SYNs
# for the broken-IPv6 test), dnsmasq (a local resolver to starve), iproute2 (network namespaces, tc). Without them
# those tests skip with a message saying so. Needs root; a no-op when
# everything is present. Safe to run repeatedly.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tc >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip6tables >/dev/null 2>&1 || need+=(iptables)
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for extra in "$@"; do
  case "$extra" in
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    *) need+=("$extra") ;;
  esac
done
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system deps: missing ${need[*]} and cannot install them (need root and apt-get); the tests that need them will skip" >&2
  exit 0
fi
echo "system deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system deps: installed ${need[*]}"
