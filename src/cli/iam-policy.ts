/** `stallwatch iam-policy`: the least-privilege policy for the features the config enables (or for deploying). */
import { buildDeployPolicy, buildIamPolicy } from "../aws/iam.js";
import { loadConfig } from "../config/load.js";

export async function iamPolicyCommand(flags: { config: string; deploy?: boolean }): Promise<void> {
  const { config } = await loadConfig(flags.config);
  const result = flags.deploy ? buildDeployPolicy(config) : buildIamPolicy(config);
  process.stdout.write(`${JSON.stringify(result.policy, null, 2)}\n`);
  for (const note of result.notes) process.stderr.write(`# ${note}\n`);
}
