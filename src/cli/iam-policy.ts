/** `stallwatch iam-policy`: the least-privilege policy for the features the config enables (or for deploying). */
import { buildDeployPolicy, buildIamPolicy, buildStoreReadPolicy } from "../aws/iam.js";
import { loadConfig } from "../config/load.js";
import { UsageError } from "../errors.js";

export async function iamPolicyCommand(flags: {
  config: string;
  deploy?: boolean;
  report?: boolean;
}): Promise<void> {
  const { config } = await loadConfig(flags.config);
  if (flags.deploy && flags.report) throw new UsageError("give one of --deploy and --report");
  if (flags.report && config.store.url === undefined) {
    throw new UsageError("--report: the config has no store.url (the policy reads a shared S3 store)");
  }
  const result = flags.deploy
    ? buildDeployPolicy(config)
    : flags.report && config.store.url !== undefined
      ? buildStoreReadPolicy(config.store.url)
      : buildIamPolicy(config);
  process.stdout.write(`${JSON.stringify(result.policy, null, 2)}\n`);
  for (const note of result.notes) process.stderr.write(`# ${note}\n`);
}
