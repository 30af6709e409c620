/**
 * This host's SYN retransmission schedule, from its own kernel settings
 * (/proc/sys/net/ipv4/tcp_syn_linear_timeouts and tcp_syn_retries). A kernel
 * without tcp_syn_linear_timeouts doubles from the first retransmission.
 * Off Linux, or where /proc cannot be read, the classic Linux schedule.
 */
import { readFileSync } from "node:fs";
import { CLASSIC_LINUX, type SynSchedule } from "../diagnose/physics.js";

function readInt(path: string): number | undefined {
  try {
    const v = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

export function readHostSynSchedule(dir = "/proc/sys/net/ipv4"): SynSchedule {
  const retries = readInt(`${dir}/tcp_syn_retries`);
  if (retries === undefined) return CLASSIC_LINUX;
  const linear = readInt(`${dir}/tcp_syn_linear_timeouts`) ?? 0;
  return {
    initialRtoMs: 1000,
    linearTimeouts: linear,
    retries,
    source: `this host's kernel (tcp_syn_linear_timeouts=${linear}, tcp_syn_retries=${retries})`,
  };
}
