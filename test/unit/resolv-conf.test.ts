import { describe, expect, it } from "vitest";
import { parseResolvConf } from "../../src/system/resolv-conf.js";

describe("resolv.conf", () => {
  it("uses glibc defaults when options are absent", () => {
    const s = parseResolvConf("nameserver 10.0.0.2\n");
    expect(s).toMatchObject({
      nameservers: ["10.0.0.2"],
      timeoutMs: 5000,
      attempts: 2,
      singleRequest: false,
    });
  });
  it("reads timeout, attempts and single-request, ignoring comments", () => {
    const s = parseResolvConf(
      "# comment\nnameserver 127.0.0.1 ; trailing\nnameserver ::1\noptions timeout:1 attempts:3 single-request-reopen\n",
    );
    expect(s).toMatchObject({
      nameservers: ["127.0.0.1", "::1"],
      timeoutMs: 1000,
      attempts: 3,
      singleRequest: true,
    });
  });
  it("caps values like glibc and ignores garbage", () => {
    expect(parseResolvConf("options timeout:99 attempts:9").timeoutMs).toBe(30_000);
    expect(parseResolvConf("options timeout:99 attempts:9").attempts).toBe(5);
    expect(parseResolvConf("options timeout:x attempts:0").timeoutMs).toBe(5000);
  });
});
