/** `stallwatch report --from DIR`: placeholder until the store lands (see issue 4). */
import { UsageError } from "../errors.js";

export async function historyReportCommand(_flags: { from?: string }): Promise<void> {
  throw new UsageError("report --from is not available in this build yet");
}
