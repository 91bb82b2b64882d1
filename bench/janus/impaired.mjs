// Chorus and Janus behind the same impaired link, in one run: a Chromium teacher sends its
// fake camera and microphone directly, a Chromium student receives through the seeded
// userspace link of tests/integration/lib/impaired_link.mjs, and the student's page is
// sampled as in tests/integration/browser_impaired.test.mjs, case by case (IMPAIRMENTS).
// Chorus's side is the stock mediasoup-client (lib/media_page.mjs), Janus's a plain
// RTCPeerConnection through the VideoRoom API (lib/janus_page.mjs); Janus is Debian's,
// started by run-janus.sh in its namespace (10.77.0.2) and stopped by it at the end. The
// link stands in front of Janus's media port: the subscriber's offer names the link's
// address, and the answer names none, so that Janus learns the browser's address from the
// checks the link forwards.
//
//   scripts/netns-run.sh node bench/janus/impaired.mjs [--runs N] [--only chorus|janus] [--all]  (root)
//   (--all: MORE_IMPAIRMENTS too)
//
// Prints one JSON line of figures per case and server, then a table of both.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundleMediasoupClient, launchChromium, openPage, serveStatic, until } from '../../tests/integration/lib/browser.mjs';
import { IMPAIRMENTS, MORE_IMPAIRMENTS, joinThroughLink, linkServerArgs, seesAndHears, startImpairedLink } from '../../tests/integration/lib/impaired_link.mjs';
import { JANUS_PAGE } from '../../tests/integration/lib/janus_page.mjs';
import { MEDIA_PAGE } from '../../tests/integration/lib/media_page.mjs';
import { SAMPLER, measureCase } from '../../tests/integration/lib/receiver_figures.mjs';
import { freeRtcPort, withServer } from '../../tests/integration/lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUN_JANUS = path.join(here, 'run-janus.sh');
const JANUS_IP = '10.77.0.2';
const HOST_IP = '10.77.0.1'; // the host end of Janus's veth pair: the link listens there
const ROOM = 1234;
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs') || 1) || 1;
const only = arg('--only'); // chorus or janus
const CASES = process.argv.includes('--all') ? [...IMPAIRMENTS, ...MORE_IMPAIRMENTS] : IMPAIRMENTS;

// Every case on a student page already receiving through `link`.
async function cases(server, student, link) {
  await student.evaluate(SAMPLER);
  const out = [];
  for (const c of CASES) {
    const f = await measureCase(student, link, c);
    console.log(`${server}, ${c.name}: ${JSON.stringify(f)}`);
    out.push({ server, case: c.name, ...f });
  }
  return out;
}

async function chorusSide(browser) {
  const port = await freeRtcPort();
  const bundle = await bundleMediasoupClient();
  const site = await serveStatic({ '/': { type: 'text/html', body: MEDIA_PAGE }, '/mediasoup-client.js': { type: 'text/javascript', body: bundle } });
  try {
    return await withServer(linkServerArgs(port), async (server) => {
      const link = await startImpairedLink({ port, seed: 62 });
      try {
        const { student } = await joinThroughLink({ teacherBrowser: browser, siteUrl: site.url, server, room: 'impaired' });
        return await cases('Chorus', student, link);
      } finally {
        await link.close();
      }
    });
  } finally {
    await site.close();
  }
}

async function janusSide(browser) {
  const ready = execFileSync('bash', [RUN_JANUS, 'start'], { encoding: 'utf8', timeout: 180000 });
  const ws = ready.match(/janus ready (ws:\/\/\S+)/)?.[1];
  if (!ws) throw new Error(`run-janus.sh: ${ready}`);
  const site = await serveStatic({ '/': { type: 'text/html', body: JANUS_PAGE } });
  let link = null;
  try {
    const teacher = await openPage(browser, `${site.url}/`, 'janus-teacher');
    const student = await openPage(browser, `${site.url}/`, 'janus-student');
    const feed = await teacher.evaluate(([u, room]) => window.janusPublish(u, room), [ws, ROOM]);
    const offer = await student.evaluate(([u, room, f]) => window.janusSubscribeOffer(u, room, f), [ws, ROOM, feed]);
    const port = Number(offer.match(new RegExp(`a=candidate:\\S+ 1 udp \\d+ ${JANUS_IP.replaceAll('.', '\\.')} (\\d+) typ host`))?.[1]);
    if (!port) throw new Error(`no host candidate of Janus in its offer:\n${offer}`);
    link = await startImpairedLink({ port, serverIp: JANUS_IP, bindIp: HOST_IP, linkIp: HOST_IP, seed: 62 });
    await student.evaluate((sdp) => window.janusSubscribeAnswer(sdp), offer.replaceAll(JANUS_IP, HOST_IP));
    await until(student, 'Janus: the teacher seen and heard through the link', () => student.evaluate(() => window.received()), seesAndHears, 30000, 250);
    if (link.stats().down.delivered < 100) throw new Error(`the media did not go through the link: ${JSON.stringify(link.stats())}`);
    return await cases('Janus', student, link);
  } finally {
    await link?.close();
    await site.close();
    execFileSync('bash', [RUN_JANUS, 'stop'], { encoding: 'utf8', timeout: 30000 });
  }
}

// Each side with a Chromium of its own, closed after it.
async function withChromium(side) {
  const browser = await launchChromium();
  try {
    return await side(browser);
  } finally {
    await browser.close();
  }
}

const results = [];
for (let r = 0; r < runs; r++) {
  if (only !== 'janus') results.push(...(await withChromium(chorusSide)));
  if (only !== 'chorus') results.push(...(await withChromium(janusSide)));
}
const pct = (x) => `${(100 * x).toFixed(1)} %`;
console.log('\n| case | server | freezes | frozen | longest stall | fps | audio concealed | A/V offset |');
console.log('|---|---|---|---|---|---|---|---|');
for (const c of CASES)
  for (const r of results.filter((x) => x.case === c.name))
    console.log(`| ${c.name} | ${r.server} | ${r.freezes} | ${pct(r.freezeShare)} | ${r.longestStallMs} ms | ${r.fps} | ${pct(r.concealedShare)} | ${r.avOffsetMs ?? '-'} ms |`);
