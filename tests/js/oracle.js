// The reference counts, for tests/js_oracle.py: one JSON request per line on stdin,
// one JSON answer per line on stdout.
//   {"op": "tweet", "texts": [...]} -> [{weightedLength, valid, urls: [[url, start, end]]}]
//   {"op": "sms", "texts": [...]}   -> [{encoding, segments, parts: [text of each segment]}]
// twitter-text 3.1.0 is X's official JavaScript implementation (parseTweet, config v3);
// sms-segments-calculator is Twilio's own segment calculator.
'use strict';
const readline = require('readline');
const twitterText = require('twitter-text');
const { SegmentedMessage } = require('sms-segments-calculator');

function tweet(text) {
  const parsed = twitterText.parseTweet(text);
  const urls = twitterText.extractUrlsWithIndices(text).map((u) => [u.url, u.indices[0], u.indices[1]]);
  return { weightedLength: parsed.weightedLength, valid: parsed.valid, urls };
}

function sms(text) {
  const message = new SegmentedMessage(text);
  // Array.from: a Segment's own map() would build a Segment, User Data Header and all.
  const parts = message.segments.map((segment) =>
    Array.from(segment).filter((c) => !c.isUserDataHeader).map((c) => c.raw).join(''));
  return { encoding: message.encodingName, segments: message.segmentsCount, parts };
}

const ops = { tweet, sms };
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  process.stdout.write(JSON.stringify(request.texts.map(ops[request.op])) + '\n');
});
