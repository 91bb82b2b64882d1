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
//   scripts/netns-run.sh node bench/janus/impaired.mjs [--runs N] [--only chorus|janus] [--all]
//     [--thin] [--seconds S] [--chorus-args "ARGS"]  (root)
//   (--all: MORE_IMPAIRMENTS too; --thin: instead of the cases, the teacher sends VP8
//   simulcast and the student's link thins out, lib/thin_link.mjs's phases; --seconds: each
//   case's window instead of its own; --chorus-args: more flags for the Chorus server, split
//   at spaces)
//   The namespace netns-run.sh makes has no route out: install Janus first, outside it
//   (`apt-get install janus`, or `bench/janus/run-janus.sh start` and `stop`).
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
import { ENCODINGS } from '../../tests/integration/lib/simulcast.mjs';
import { thinLinkPhases } from '../../tests/integration/lib/thin_link.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUN_JANUS = path.join(here, 'run-janus.sh');
const JANUS_IP = '10.77.0.2';
const HOST_IP = '10.77.0.1'; // the host end of Janus's veth pair: the link listens there
const ROOM = 1234;
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs') || 1) || 1;
const only = arg('--only'); // chorus or janus
const seconds = Number(arg('--seconds')) || 0;
const CASES = (process.argv.includes('--all') ? [...IMPAIRMENTS, ...MORE_IMPAIRMENTS] : IMPAIRMENTS)
  .map((c) => (seconds ? { ...c, seconds } : c));
const chorusArgs = (arg('--chorus-args') || '').split(' ').filter(Boolean);
const thin = process.argv.includes('--thin');
const SIMULCAST = { video: { width: 960, height: 540 }, encodings: ENCODINGS };

// Every case on a student page already receiving through `link` (--thin: the thin link's
// phases, once the student decodes the teacher's top layer, waited for up to 40 s).
async function cases(server, teacher, student, link) {
  if (thin) {
    const top = async () => Math.max(...(await teacher.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth || 0));
    const atTop = async () => {
      const t = await top();
      return t > 0 && (await student.evaluate(() => window.received())).find((x) => x.kind === 'video')?.frameWidth === t;
    };
    const deadline = Date.now() + 40000;
    while (!(await atTop()) && Date.now() < deadline) await student.waitForTimeout(250);
    console.log(`${server}: the top layer through the open link: ${await atTop()}`);
    await student.evaluate(SAMPLER);
    const r = await thinLinkPhases({ teacher, student, link, log: (line) => console.log(`${server}, ${line}`) });
    return r.phases.map((p) => ({ server, case: p.name, ...p.settled, mostlyWidth: p.mostlyWidth, senderFps: p.senderFps, recoveryMs: r.recoveryMs }));
  }
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
    return await withServer([...linkServerArgs(port), ...chorusArgs], async (server) => {
      const link = await startImpairedLink({ port, seed: 62 });
      try {
        const { teacher, student } = await joinThroughLink({ teacherBrowser: browser, siteUrl: site.url, server, room: 'impaired', send: thin ? SIMULCAST : {} });
        return await cases('Chorus', teacher, student, link);
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
    const feed = await teacher.evaluate(([u, room, send]) => window.janusPublish(u, room, send), [ws, ROOM, thin ? { ...SIMULCAST.video, encodings: SIMULCAST.encodings } : {}]);
    const offer = await student.evaluate(([u, room, f]) => window.janusSubscribeOffer(u, room, f), [ws, ROOM, feed]);
    const port = Number(offer.match(new RegExp(`a=candidate:\\S+ 1 udp \\d+ ${JANUS_IP.replaceAll('.', '\\.')} (\\d+) typ host`))?.[1]);
    if (!port) throw new Error(`no host candidate of Janus in its offer:\n${offer}`);
    link = await startImpairedLink({ port, serverIp: JANUS_IP, bindIp: HOST_IP, linkIp: HOST_IP, seed: 62 });
    await student.evaluate((sdp) => window.janusSubscribeAnswer(sdp), offer.replaceAll(JANUS_IP, HOST_IP));
    await until(student, 'Janus: the teacher seen and heard through the link', () => student.evaluate(() => window.received()), seesAndHears, 30000, 250);
    if (link.stats().down.delivered < 100) throw new Error(`the media did not go through the link: ${JSON.stringify(link.stats())}`);
    return await cases('Janus', teacher, student, link);
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
if (thin) {
  console.log('\n| phase (after its first 5 s) | server | freezes | frozen | longest stall | mostly | fps (sent on it) | audio concealed | top layer again after |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(`| ${r.case} | ${r.server} | ${r.freezes} | ${pct(r.freezeShare)} | ${r.longestStallMs} ms | ${r.mostlyWidth} wide | ${r.fps} (${r.senderFps}) | ${pct(r.concealedShare)} | ${r.recoveryMs ?? 'over 10 000'} ms |`);
  process.exit(0);
}
console.log('\n| case | server | freezes | frozen | longest stall | fps | audio concealed | A/V offset | video buffered |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const c of CASES)
  for (const r of results.filter((x) => x.case === c.name))
    console.log(`| ${c.name} | ${r.server} | ${r.freezes} | ${pct(r.freezeShare)} | ${r.longestStallMs} ms | ${r.fps} | ${pct(r.concealedShare)} | ${r.avOffsetMs ?? '-'} ms | ${r.videoBufferMs} ms |`);
