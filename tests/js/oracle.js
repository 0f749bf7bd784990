// The reference counts, for tests/js_oracle.py: one JSON request per line on stdin,
// one JSON answer per line on stdout.
//   {"op": "tweet", "texts": [...]} -> [{weightedLength, valid, urls: [[url, start, end]]}]
//   {"op": "sms", "texts": [...]}   -> [{encoding, segments, parts: [text of each segment]}]
//   {"op": "bsky", "texts": [...]}  -> [[{byteStart, byteEnd, uri}] of each link facet]
// twitter-text 3.1.0 is X's official JavaScript implementation (parseTweet, config v3);
// sms-segments-calculator is Twilio's own segment calculator; @atproto/api is Bluesky's
// official SDK (RichText.detectFacetsWithoutResolution: no network).
'use strict';
const readline = require('readline');
const twitterText = require('twitter-text');
const { SegmentedMessage } = require('sms-segments-calculator');
const { RichText } = require('@atproto/api');

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

function bsky(text) {
  const rich = new RichText({ text });
  rich.detectFacetsWithoutResolution();
  return (rich.facets || []).flatMap((facet) => facet.features
    .filter((f) => f.$type === 'app.bsky.richtext.facet#link')
    .map((f) => ({ byteStart: facet.index.byteStart, byteEnd: facet.index.byteEnd, uri: f.uri })));
}

const ops = { tweet, sms, bsky };
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  process.stdout.write(JSON.stringify(request.texts.map(ops[request.op])) + '\n');
});
