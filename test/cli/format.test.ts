import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanSince, humanSize } from '../../src/cli/image-commands.js';

test('sizes print like docker: decimal units, three significant digits', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1500), '1.5kB');
  assert.equal(humanSize(7_812_345), '7.81MB');
  assert.equal(humanSize(1_234_567_890), '1.23GB');
});

test('ages print like docker', () => {
  const now = new Date('2024-06-01T12:00:00Z');
  const ago = (s: number): string => humanSince(new Date(now.getTime() - s * 1000).toISOString(), now);
  assert.equal(ago(0), 'Less than a second ago');
  assert.equal(ago(1), '1 second ago');
  assert.equal(ago(30), '30 seconds ago');
  assert.equal(ago(70), 'About a minute ago');
  assert.equal(ago(600), '10 minutes ago');
  assert.equal(ago(3600), 'About an hour ago');
  assert.equal(ago(5 * 3600), '5 hours ago');
  assert.equal(ago(3 * 86400), '3 days ago');
  assert.equal(ago(20 * 86400), '2 weeks ago');
  assert.equal(ago(90 * 86400), '3 months ago');
  assert.equal(ago(800 * 86400), '2 years ago');
  assert.equal(humanSince(undefined, now), 'N/A');
});
