import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressBucket, TokenBuckets } from "../../server/security/rate-limit.js";

describe("rate-limit buckets", () => {
  it("key IPv4 addresses as they are, and IPv4-mapped IPv6 as IPv4", () => {
    assert.equal(addressBucket("192.0.2.7"), "192.0.2.7");
    assert.equal(addressBucket("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(addressBucket(undefined), "unknown");
  });

  it("key IPv6 addresses by their /64, which one host usually holds whole", () => {
    assert.equal(addressBucket("2001:db8:1:2::1"), addressBucket("2001:db8:1:2:ffff:0:0:9"));
    assert.equal(addressBucket("2001:db8:1:2::1"), "2001:db8:1:2::/64");
    assert.notEqual(addressBucket("2001:db8:1:2::1"), addressBucket("2001:db8:1:3::1"));
    assert.equal(addressBucket("::1"), "0:0:0:0::/64");
  });

  it("allow a burst, refuse past it, and refill at the sustained rate", () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => buckets.take("a")), [true, true, true, false]);
    assert.equal(buckets.take("b"), true, "each key has its own bucket");
    now += 500;
    assert.equal(buckets.take("a"), true, "one token back after half a second at 2 per second");
    assert.equal(buckets.take("a"), false);
  });

  it("stay bounded however many keys call, forgetting the least recently used", () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, () => 0);
    assert.equal(buckets.take("first"), true);
    assert.equal(buckets.take("first"), false);
    for (let i = 0; i < 10_000; i++) buckets.take(`other-${i}`);
    assert.equal(buckets.take("first"), true, "forgotten, so full again: as if it had been idle");
  });
});
