/** `stallwatch lab`: run the simulated stack on loopback until interrupted. */
import { SCENARIOS } from "../lab/index.js";
import { startDemoLab } from "./lab-demo.js";

export async function labCommand(flags: { scenario: string; list?: boolean }): Promise<void> {
  if (flags.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(width)}  ${s.description}\n`);
    return;
  }
  const lab = await startDemoLab(flags.scenario);
  process.stdout.write(
    `${lab.describe}\n\nprobe it:  stallwatch report --route custom-domain=${lab.routes["custom-domain"]} --route execute-api=${lab.routes["execute-api"]} --path / --path /foo/bar\nCtrl-C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await lab.close();
}
