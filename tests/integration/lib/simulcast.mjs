// Helpers of the simulcast / SVC browser tests: the three encodings mediasoup-client is
// given, and what the tests read of a receiving page.

// Lowest first, as mediasoup-client lists them (rids r0, r1, r2).
export const ENCODINGS = [
  { scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { scaleResolutionDownBy: 2, maxBitrate: 400000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1200000 },
];

// The page's video consumer row (window.received()).
export const videoRow = async (page) => (await page.evaluate(() => window.received())).find((r) => r.kind === 'video');

// The server's stats of one consumer (get-consumer-stats).
export const consumerStats = async (page, id) =>
  (await page.evaluate((c) => window.chorusRequest('get-consumer-stats', { consumerId: c }), id)).data[0];

// The consumer-layers-changed events the page received for one consumer, in order.
export const layersEvents = (page, id) => page.evaluate((c) =>
  window.events.filter((e) => e.type === 'consumer-layers-changed' && e.data.consumerId === c).map((e) => e.data), id);
