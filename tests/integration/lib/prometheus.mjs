// A strict parser of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): it throws on anything
// the format does not allow, and on what Prometheus would reject at ingestion (a sample
// before its family's TYPE, a family split in two, a series twice, a histogram whose
// buckets are not cumulative or lack +Inf, a counter below zero).

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text, line) {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value '${text}' in: ${line}`);
  return Number(text);
}

// Labels "{a=\"x\",b=\"y\"}" starting at text[i] === '{'; returns [labels, next index].
function parseLabels(text, i, line) {
  const labels = {};
  i += 1;
  for (;;) {
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name '${name}' in: ${line}`);
    if (name in labels) throw new Error(`label '${name}' twice in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '\\') {
        const n = text[j + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
        continue;
      }
      if (c === '"') break;
      if (c === '\n') throw new Error(`newline in a label value: ${line}`);
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
}

// The family a sample name belongs to, given the TYPEs seen.
function familyOf(name, types) {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (['histogram', 'summary'].includes(types.get(base))) return base;
    }
  }
  return null;
}

// Returns { families: Map(name -> { type, help, samples: [{ name, labels, value }] }),
//           value(name, labels = {}) }.
export function parsePrometheus(text) {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map();
  const types = new Map();
  const seen = new Set();
  const closed = new Set();
  let current = null;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      const fam = families.get(name) ?? { type: 'untyped', help: undefined, samples: [] };
      if (kind === 'TYPE') {
        if (types.has(name)) throw new Error(`TYPE of ${name} twice`);
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (fam.samples.length) throw new Error(`TYPE of ${name} after its samples`);
        types.set(name, rest);
        fam.type = rest;
      } else {
        if (fam.help !== undefined) throw new Error(`HELP of ${name} twice`);
        fam.help = rest;
      }
      families.set(name, fam);
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`not a sample: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels = {};
    let i = nameEnd;
    if (line[i] === '{') [labels, i] = parseLabels(line, i, line);
    if (line[i] !== ' ') throw new Error(`expected a space before the value: ${line}`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad value part: ${line}`);
    const value = parseValue(parts[0], line);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp: ${line}`);
    const family = familyOf(name, types);
    if (!family) throw new Error(`sample ${name} before (or without) its TYPE`);
    if (family !== current) {
      if (closed.has(family)) throw new Error(`samples of ${family} are not together`);
      if (current) closed.add(current);
      current = family;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    const fam = families.get(family);
    if (fam.type === 'counter' && !(value >= 0)) throw new Error(`counter below zero: ${line}`);
    fam.samples.push({ name, labels, value });
  }
  for (const [name, fam] of families) {
    if (fam.type !== 'histogram') continue;
    const groups = new Map();
    for (const s of fam.samples) {
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      const g = groups.get(k) ?? { buckets: [], sum: undefined, count: undefined };
      if (s.name === `${name}_bucket`) {
        if (le === undefined) throw new Error(`${name}_bucket without le`);
        g.buckets.push([parseValue(le, le), s.value]);
      } else if (s.name === `${name}_sum`) g.sum = s.value;
      else if (s.name === `${name}_count`) g.count = s.value;
      else throw new Error(`${s.name} in histogram ${name}`);
      groups.set(k, g);
    }
    for (const g of groups.values()) {
      if (g.sum === undefined || g.count === undefined) throw new Error(`${name}: _sum or _count missing`);
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${name}: no +Inf bucket`);
      for (let k = 1; k < sorted.length; k++)
        if (sorted[k][1] < sorted[k - 1][1]) throw new Error(`${name}: buckets not cumulative`);
      if (sorted.at(-1)[1] !== g.count) throw new Error(`${name}: +Inf bucket ${sorted.at(-1)[1]} != count ${g.count}`);
    }
  }
  return {
    families,
    value(name, labels = {}) {
      const family = familyOf(name, types);
      const fam = family && families.get(family);
      if (!fam) return undefined;
      const want = JSON.stringify(Object.entries(labels).sort());
      const s = fam.samples.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === want);
      return s?.value;
    },
  };
}
