// Gatekeeping for tests that need a tool outside Node, such as a Python with
// torch. Outside CI a missing tool skips the test with the reason printed;
// with SYNCGRAD_REQUIRE_DATA=1 (set by .ci/run) the same absence fails the
// test, so CI can never pass by skipping.
import type { TestContext } from 'node:test';

/**
 * Returns true when `found`. Otherwise skips the test, printing that `tool`
 * is missing and `how` to install it, or fails it when tools are required.
 */
export function requireTool(t: TestContext, tool: string, found: boolean, how: string): boolean {
  if (found) return true;
  const reason = `${tool} not found: ${how}`;
  if (process.env.SYNCGRAD_REQUIRE_DATA === '1') {
    throw new Error(`${reason} (SYNCGRAD_REQUIRE_DATA=1 makes this a failure)`);
  }
  console.log(`# skipped: ${reason}`);
  t.skip(reason);
  return false;
}
