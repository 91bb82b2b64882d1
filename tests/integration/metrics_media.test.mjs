// GET /metrics with media flowing: parsed with a strict Prometheus text-format
// parser; packet counters grow while a libwebrtc client produces and another consumes,
// gauges go up and back down after they leave; requests by type, latency and join-time
// histograms, per-room series behind metrics.perRoom; every metric the Grafana dashboard
// (conf/grafana/chorus-dashboard.json) queries exists.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { pollUntil } from './lib/tcp.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { REPO_ROOT, tempConfig, withServer } from './lib/server.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { speakerProcess } from './lib/wrtc_speaker.mjs';

async function scrape(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

const until = (probe, what, timeoutMs = 8000) => pollUntil(probe, { timeoutMs, intervalMs: 100, what });

test('the strict parser refuses what Prometheus refuses', () => {
  const bad = {
    'no newline at the end': '# TYPE a gauge\na 1',
    'sample before TYPE': 'a 1\n# TYPE a gauge\n',
    'family split': '# TYPE a gauge\n# TYPE b gauge\na{x="1"} 1\nb 1\na{x="2"} 1\n',
    'series twice': '# TYPE a gauge\na 1\na 2\n',
    'bad escape': '# TYPE a gauge\na{x="\\q"} 1\n',
    'bad value': '# TYPE a gauge\na one\n',
    'counter below zero': '# TYPE a_total counter\na_total -1\n',
    'histogram without +Inf': '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    'buckets not cumulative': '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    'bad metric name': '# TYPE 1a gauge\n1a 1\n',
  };
  for (const [name, text] of Object.entries(bad)) assert.throws(() => parsePrometheus(text), undefined, name);
  const ok = parsePrometheus('# HELP a x\n# TYPE a gauge\na{b="q\\"\\\\\\n"} +Inf\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n');
  assert.equal(ok.value('a', { b: 'q"\\\n' }), Infinity);
  assert.equal(ok.value('h_count'), 2);
});

test('metrics: packets grow with real media, gauges return to 0, histograms, per-room', { timeout: 120000 }, async () => {
  const cfg = tempConfig({ metrics: { perRoom: true } });
  await withServer(['--config', cfg], async (server) => {
    const before = await scrape(server);
    assert.equal(before.value('chorus_packets_in_total'), 0);
    assert.equal(before.value('chorus_rooms'), 0);
    // Every metric the dashboard queries is exposed (per-room ones once a room exists).
    const dashboard = fs.readFileSync(path.join(REPO_ROOT, 'conf/grafana/chorus-dashboard.json'), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b((?:chorus|process)_[a-z_]+)\{/g)].map((m) => m[1]));
    assert.ok(queried.size > 15);

    const speaker = await speakerProcess(server, 'teacher', 'metered', 440);
    let viewer;
    try {
      speaker.setAmplitude(8000);
      viewer = await connectPeer(server, { auth: 'viewer', channelId: 'metered' });
      const caps = await viewer.request('get-rtp-capabilities', {});
      await viewer.request('join-mediasoup-room', { rtpCapabilities: caps.data });
      // The viewer consumes the teacher's microphone (a consumer the gauges count).
      const recv = await viewer.request('create-webrtc-transport', { direction: 'recv' });
      const consumed = await viewer.request('consume', { transportId: recv.data.params.id, producerId: speaker.producerId, rtpCapabilities: caps.data });
      assert.equal(consumed.type, 'consumer-params', JSON.stringify(consumed));
      const during = await until(async () => {
        const m = await scrape(server);
        return m.value('chorus_rtp_packets_in_total') > 50 ? m : null;
      }, 'RTP packets counted');
      assert.equal(during.value('chorus_rooms'), 1);
      assert.equal(during.value('chorus_peers'), 2);
      assert.ok(during.value('chorus_producers') >= 1);
      assert.equal(during.value('chorus_consumers'), 1);
      assert.ok(during.value('chorus_transports') >= 1);
      assert.ok(during.value('chorus_packets_in_total') >= during.value('chorus_rtp_packets_in_total'));
      assert.ok(during.value('chorus_bytes_in_total') > 1000);
      assert.ok(during.value('chorus_packets_out_total') > 0, 'STUN answers and RTCP are sent');
      assert.equal(during.value('chorus_room_peers', { room: 'metered' }), 2);
      assert.equal(during.value('chorus_room_producers', { room: 'metered' }), 1);
      assert.ok(during.value('chorus_signaling_requests_by_type_total', { type: 'produce' }) >= 1);
      assert.ok(during.value('chorus_signaling_requests_by_type_total', { type: 'join-room' }) >= 1);
      assert.ok(during.value('chorus_join_duration_seconds_count') >= 1, 'joins timed');
      assert.ok(during.value('chorus_request_duration_seconds_count') >= 3, 'requests timed');
      assert.equal(during.value('chorus_rtp_dropped_total', { reason: 'srtp_auth' }), 0);
      // The send outboxes' segmentation counters (UDP GSO): exposed, and no refusal here.
      for (const name of ['segmented_messages', 'segmented_datagrams', 'segment_fallbacks'])
        assert.ok(during.value(`chorus_media_${name}_total`) >= 0, name);
      assert.equal(during.value('chorus_media_segment_fallbacks_total'), 0);
      for (const name of queried) assert.ok(during.families.has(name) || during.families.has(name.replace(/_bucket$/, '')), `the dashboard queries ${name}, which /metrics lacks`);
      const later = await until(async () => {
        const m = await scrape(server);
        return m.value('chorus_rtp_packets_in_total') > during.value('chorus_rtp_packets_in_total') + 50 ? m : null;
      }, 'RTP packets still growing');
      assert.ok(later.value('chorus_bytes_in_total') > during.value('chorus_bytes_in_total'));
    } finally {
      speaker.kill();
      await closeAll(viewer);
    }
    const after = await until(async () => {
      const m = await scrape(server);
      // (Producers and consumers each end on their own after their peer: waited for too.)
      return ['chorus_peers', 'chorus_rooms', 'chorus_transports', 'chorus_producers', 'chorus_consumers']
        .every((g) => m.value(g) === 0) ? m : null;
    }, 'gauges back to 0');
    assert.equal(after.value('chorus_producers'), 0);
    assert.equal(after.value('chorus_consumers'), 0);
    assert.equal(after.value('chorus_room_peers', { room: 'metered' }), undefined, 'the closed room\'s series is gone');
  });
});
