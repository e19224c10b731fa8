import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { localImageName, parseImageReference, pullTarget } from "../../server/containers/grammar/image-reference.js";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  for (const [input, repository, tag, digestPart] of [
    ["busybox", "busybox", undefined, undefined],
    ["nginx:1.27", "nginx", "1.27", undefined],
    ["library/nginx:1.27-alpine", "library/nginx", "1.27-alpine", undefined],
    ["host:5000/repo/x", "host:5000/repo/x", undefined, undefined],
    [`host:5000/repo/x@${digest}`, "host:5000/repo/x", undefined, digest],
    [`127.0.0.1:5000/a/b:v1@${digest}`, "127.0.0.1:5000/a/b", "v1", digest],
    ["[::1]:5000/app:2", "[::1]:5000/app", "2", undefined],
    ["registry.example.com/team_a/app__x", "registry.example.com/team_a/app__x", undefined, undefined],
  ] as const) {
    it(`accepts ${input}`, () => {
      const parsed = parseImageReference(input);
      assert.ok(parsed.ok, !parsed.ok ? parsed.reason : "");
      assert.equal(parsed.reference.repository, repository);
      assert.equal(parsed.reference.tag, tag);
      assert.equal(parsed.reference.digest, digestPart);
    });
  }

  for (const input of ["", "Busybox", "busybox:", ":latest", "a b", "busybox@sha256:short", "-x", "x/", "a//b", `x:${"t".repeat(129)}`]) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.equal(parseImageReference(input).ok, false);
    });
  }

  it("treats a 64-hex string as a local image id", () => {
    const parsed = parseImageReference(digest);
    assert.ok(parsed.ok);
    assert.equal(parsed.reference.isImageId, true);
  });

  it("rejects a repository name longer than 255 characters", () => {
    const parsed = parseImageReference(`a${"/abcdefgh".repeat(30)}`);
    assert.equal(parsed.ok, false);
  });
});

describe("local names and pull targets", () => {
  const parse = (input: string) => {
    const parsed = parseImageReference(input);
    assert.ok(parsed.ok);
    return parsed.reference;
  };
  it("defaults to :latest", () => {
    assert.equal(localImageName(parse("busybox")), "busybox:latest");
    assert.deepEqual(pullTarget(parse("busybox")), { fromImage: "busybox", tag: "latest" });
  });
  it("pulls by digest when one is given", () => {
    assert.deepEqual(pullTarget(parse(`h:5000/x:1@${digest}`)), { fromImage: "h:5000/x", tag: digest });
    assert.equal(localImageName(parse(`h:5000/x:1@${digest}`)), `h:5000/x@${digest}`);
  });
});
